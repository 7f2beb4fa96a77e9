//! `trimeter`: standards-exact level meters and gain staging for audio files.
//!
//! `trimeter analyze FILE...` measures files (table or `--json`); `trimeter stage --out DIR
//! FILE...` writes trimmed copies. Files are processed in parallel on all cores (set
//! `RAYON_NUM_THREADS` to limit), results are printed in input order.
//!
//! Exit codes: 0 when every file succeeded, 1 when any file failed (the others are still
//! processed and reported), 2 for a usage error.

mod analyze;
mod args;
mod decode;
mod flac_out;
mod report;
mod stage;
mod target;
mod verify;
mod wav_in;
mod wav_out;

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::analyze::{analyze_file_in, Analysis, ProgressEvent};
use crate::args::{AnalyzeArgs, Cli, Command, StageArgs};
use crate::report::FileReport;
use crate::stage::{StagePlan, StageReport};

/// Every file succeeded.
const EXIT_OK: u8 = 0;
/// At least one file failed.
const EXIT_FILE_FAILED: u8 = 1;
/// The command line was wrong (clap exits with 2 on its own for parse errors).
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    // NOTE: A bug in a decoder must not print a stack trace: each file runs under catch_unwind
    // and its panic becomes that file's error, so the default hook's message is silenced.
    std::panic::set_hook(Box::new(|_| {}));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let code = match cli.command {
        Command::Analyze(args) => run_analyze(&args),
        Command::Stage(args) => run_stage(&args),
    };
    ExitCode::from(code)
}

/// Runs `f`, turning a panic into an error sentence.
fn guarded<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(format!(
                "internal error while processing the file: {detail}"
            ))
        }
    }
}

/// A progress bar on stderr, only when stderr is a terminal and output is not JSON.
fn progress_bar(enabled: bool, files: usize) -> Option<ProgressBar> {
    if !enabled || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new(0);
    let template = "{spinner} [{elapsed_precise}] {wide_bar} {percent:>3}% ({msg}) eta {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.set_message(format!("{files} file{}", if files == 1 { "" } else { "s" }));
    Some(bar)
}

fn run_analyze(args: &AnalyzeArgs) -> u8 {
    if args.timeline.is_some() && !args.json {
        eprintln!("error: --timeline needs --json (the table has no room for a timeline)");
        return EXIT_USAGE;
    }
    let bar = progress_bar(!args.json, args.files.len());
    let on_progress = |event: ProgressEvent| {
        if let Some(bar) = &bar {
            match event {
                ProgressEvent::Opened { declared_frames } => {
                    bar.inc_length(declared_frames.unwrap_or(0))
                }
                ProgressEvent::Decoded { frames } => {
                    // Files without a declared length grow the bar as they go.
                    if bar.position() + frames > bar.length().unwrap_or(0) {
                        bar.inc_length(frames);
                    }
                    bar.inc(frames);
                }
            }
        }
    };
    let results: Vec<Result<Analysis, String>> = args
        .files
        .par_iter()
        .map(|path| {
            guarded(|| {
                analyze_file_in(
                    path,
                    &args.meter,
                    args.true_peak.mode(),
                    args.timeline,
                    &on_progress,
                )
            })
        })
        .collect();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let preset_id = args.meter.preset.map(|p| p.id);
    let reports: Vec<FileReport> = args
        .files
        .iter()
        .zip(&results)
        .map(|(p, r)| FileReport::new(p, r, args.true_peak.mode(), preset_id))
        .collect();
    for report in &reports {
        if let Some(count) = report.non_finite_samples.filter(|&n| n > 0) {
            eprintln!(
                "warning: {}: {count} non-finite sample{} (NaN or infinity), measured as zero",
                report::escape_control(&report.path),
                if count == 1 { "" } else { "s" }
            );
        }
    }
    let text = if args.json {
        match serde_json::to_string_pretty(&reports) {
            Ok(json) => json + "\n",
            Err(err) => {
                eprintln!("error: cannot encode JSON: {err}");
                return EXIT_FILE_FAILED;
            }
        }
    } else {
        report::table(&reports)
    };
    // A closed pipe (e.g. `| head`) is not worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if reports.iter().all(|r| r.ok) {
        EXIT_OK
    } else {
        EXIT_FILE_FAILED
    }
}

fn run_stage(args: &StageArgs) -> u8 {
    if let Err(err) = std::fs::create_dir_all(&args.out) {
        eprintln!(
            "error: cannot create the output folder {}: {err}",
            args.out.display()
        );
        return EXIT_USAGE;
    }
    if !args.out.is_dir() {
        eprintln!("error: {} is not a folder", args.out.display());
        return EXIT_USAGE;
    }
    let mut seen_names = HashSet::new();
    let duplicate: Vec<bool> = args
        .files
        .iter()
        .map(|p| {
            p.file_name()
                .is_some_and(|n| !seen_names.insert(n.to_os_string()))
        })
        .collect();
    let plan = StagePlan::new(args);
    let bar = progress_bar(!args.json, args.files.len());
    if let Some(bar) = &bar {
        bar.set_length(args.files.len() as u64);
    }
    let reports: Vec<StageReport> = args
        .files
        .par_iter()
        .zip(duplicate.par_iter())
        .map(|(path, &dup)| {
            let report = guarded(|| Ok(plan.stage(path, dup)))
                .unwrap_or_else(|error| StageReport::failed(path, error));
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            report
        })
        .collect();
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let text = if args.json {
        serde_json::to_string_pretty(&reports)
            .map(|j| j + "\n")
            .unwrap_or_default()
    } else {
        reports.iter().map(|r| r.line() + "\n").collect()
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if reports.iter().all(|r| r.ok) {
        EXIT_OK
    } else {
        EXIT_FILE_FAILED
    }
}
