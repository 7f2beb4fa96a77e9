//! `trimeter stage` never touches an input, whatever path leads to it: a hard link or a bind
//! mount of the input folder in DIR, a symbolic link planted at a temporary name, a symbolic link
//! at the output name. Long names stage, and a copy that does not read back is deleted and
//! reported as that file's error.
#![cfg(unix)]

#[path = "common/fixtures.rs"]
mod fixtures;

use std::ffi::OsString;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use fixtures::*;
use serde_json::Value;

/// Runs `trimeter stage --json --out out [extra] files` with `env`, returning the exit code and
/// the array.
fn stage_env(
    out: &Path,
    files: &[&Path],
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, Vec<Value>) {
    let mut command = Command::new(bin());
    command.arg("stage").arg("--json").arg("--out").arg(out);
    command.args(extra).args(files);
    command.envs(env.iter().copied());
    let output = command.output().expect("cannot start the trimeter binary");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let parsed: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {stdout:?} stderr {stderr:?}"));
    let array = parsed.as_array().expect("array").clone();
    assert_eq!(array.len(), files.len(), "one object per file");
    (output.status.code().unwrap_or(-1), array)
}

fn stage(out: &Path, files: &[&Path], extra: &[&str]) -> (i32, Vec<Value>) {
    stage_env(out, files, extra, &[])
}

fn error_of(report: &Value) -> &str {
    report["error"].as_str().unwrap_or("")
}

/// A 1 s stereo 24-bit tone at -20 dBFS.
fn write_tone(path: &Path) {
    write_wav(
        path,
        48_000,
        &stereo(tone(48_000, -20.0, 1.0)),
        Fmt::I24,
        None,
    );
}

#[test]
fn an_output_that_is_a_hard_link_of_an_input_is_refused_even_with_force() {
    let dir = temp_dir();
    let (inputs, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let input = inputs.join("tone.wav");
    write_tone(&input);
    let before = std::fs::read(&input).unwrap();
    // A second name for the same inode, exactly where the copy would go.
    std::fs::hard_link(&input, out.join("tone.wav")).unwrap();
    for extra in [&["--gain", "-1"][..], &["--gain", "-1", "--force"]] {
        let (code, reports) = stage(&out, &[&input], extra);
        assert_eq!(code, 1, "{reports:?}");
        assert!(error_of(&reports[0]).contains("input"), "{reports:?}");
    }
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let meta = std::fs::metadata(out.join("tone.wav")).unwrap();
    assert_eq!(meta.ino(), std::fs::metadata(&input).unwrap().ino());
    assert_eq!(meta.nlink(), 2, "the link is still there");

    // An input given as a symbolic link whose file lives at the output name.
    let real = out.join("linked.wav");
    write_tone(&real);
    let real_before = std::fs::read(&real).unwrap();
    let via_link = inputs.join("linked.wav");
    symlink(&real, &via_link).unwrap();
    let (code, reports) = stage(&out, &[&via_link], &["--gain", "-1", "--force"]);
    assert_eq!(code, 1, "{reports:?}");
    assert!(error_of(&reports[0]).contains("input"), "{reports:?}");
    assert_eq!(std::fs::read(&real).unwrap(), real_before);
    assert!(hidden_files(&out).is_empty());
}

/// Unmounts a bind mount when dropped (also when the test fails).
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn an_output_folder_bind_mounted_onto_the_input_folder_is_refused() {
    let dir = temp_dir();
    let (inputs, out) = (dir.path().join("in"), dir.path().join("out"));
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let input = inputs.join("tone.wav");
    write_tone(&input);
    let before = std::fs::read(&input).unwrap();
    let mounted = Command::new("mount")
        .arg("--bind")
        .arg(&inputs)
        .arg(&out)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!(
            "skipped: `mount --bind` failed (needs root with CAP_SYS_ADMIN); the hard-link test \
             covers the same inode check"
        );
        return;
    }
    let _unmount = Unmount(out.clone());
    // The canonical paths differ (no symbolic link is involved), the inode is the same.
    assert_ne!(
        out.join("tone.wav").canonicalize().unwrap(),
        input.canonicalize().unwrap()
    );
    for extra in [&["--gain", "-1", "--force"][..], &["--gain", "-1"]] {
        let (code, reports) = stage(&out, &[&input], extra);
        assert_eq!(code, 1, "{reports:?}");
        assert!(error_of(&reports[0]).contains("input"), "{reports:?}");
        assert_eq!(std::fs::read(&input).unwrap(), before, "input untouched");
    }
    assert!(hidden_files(&inputs).is_empty());
}

#[test]
fn a_symlink_at_a_temporary_name_is_never_followed() {
    let dir = temp_dir();
    let d = dir.path();
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let input = d.join("tone.wav");
    write_tone(&input);
    let victim = d.join("victim.txt");
    std::fs::write(&victim, b"not audio, keep me").unwrap();
    let before = std::fs::read(&input).unwrap();

    // Earlier versions opened `.NAME.trimeter-PID.tmp` without O_EXCL and so followed a link
    // planted there. Plant links at that name for the next few thousand process ids, half to the
    // input and half to another file, and check that the child's id was among them.
    let probe = Command::new("true").spawn().unwrap();
    let base = probe.id();
    let _ = probe.wait_with_output();
    const WINDOW: u32 = 3000;
    for pid in base + 1..=base + WINDOW {
        let target = if pid % 2 == 0 { &input } else { &victim };
        symlink(target, out.join(format!(".tone.wav.trimeter-{pid}.tmp"))).unwrap();
    }
    let child = Command::new(bin())
        .args(["stage", "--json", "--gain", "-3", "--out"])
        .arg(&out)
        .arg(&input)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    if !(base + 1..=base + WINDOW).contains(&pid) {
        eprintln!("note: the child's pid {pid} fell outside the planted window");
    }
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(std::fs::read(&input).unwrap(), before, "input untouched");
    assert_eq!(std::fs::read(&victim).unwrap(), b"not audio, keep me");
    let copy = out.join("tone.wav");
    assert!(std::fs::symlink_metadata(&copy).unwrap().is_file());
    assert_ne!(
        std::fs::read(&copy).unwrap(),
        before,
        "the copy has the gain"
    );
    // Every planted link is still a link, and nothing else is left behind.
    let hidden = hidden_files(&out);
    assert_eq!(hidden.len(), WINDOW as usize);
    assert!(hidden.iter().all(|p| std::fs::symlink_metadata(p)
        .unwrap()
        .file_type()
        .is_symlink()));
}

#[test]
fn an_existing_symlink_at_the_output_name_is_refused_or_replaced_itself() {
    let dir = temp_dir();
    let d = dir.path();
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let input = d.join("tone.wav");
    write_tone(&input);
    let victim = d.join("victim.wav");
    std::fs::write(&victim, b"someone else's file").unwrap();
    let copy = out.join("tone.wav");
    let is_link = |p: &Path| {
        std::fs::symlink_metadata(p)
            .unwrap()
            .file_type()
            .is_symlink()
    };

    // A dangling link is an existing name too: refused without --force, nothing created.
    let nowhere = d.join("nowhere.wav");
    symlink(&nowhere, &copy).unwrap();
    let (code, reports) = stage(&out, &[&input], &["--gain", "-1"]);
    assert_eq!(code, 1, "{reports:?}");
    assert!(error_of(&reports[0]).contains("exists"), "{reports:?}");
    assert!(is_link(&copy) && !nowhere.exists());

    // A link to another file: refused without --force; with --force the link itself is
    // replaced and the file it pointed at is untouched.
    std::fs::remove_file(&copy).unwrap();
    symlink(&victim, &copy).unwrap();
    let (code, reports) = stage(&out, &[&input], &["--gain", "-1"]);
    assert_eq!(code, 1, "{reports:?}");
    assert!(error_of(&reports[0]).contains("exists"), "{reports:?}");
    assert!(is_link(&copy));
    let (code, reports) = stage(&out, &[&input], &["--gain", "-1", "--force"]);
    assert_eq!(code, 0, "{reports:?}");
    assert!(!is_link(&copy) && copy.is_file());
    assert_eq!(std::fs::read(&victim).unwrap(), b"someone else's file");
    let (code, analyzed) = analyze_json(&[&copy], &[]);
    assert_eq!(code, 0);
    assert_within(
        "peak",
        num(&analyzed[0], "sample_peak_dbfs"),
        -21.0,
        0.02,
        0.02,
    );

    // A link to the input: refused even with --force.
    std::fs::remove_file(&copy).unwrap();
    symlink(&input, &copy).unwrap();
    let before = std::fs::read(&input).unwrap();
    let (code, reports) = stage(&out, &[&input], &["--gain", "-1", "--force"]);
    assert_eq!(code, 1, "{reports:?}");
    assert!(error_of(&reports[0]).contains("input"), "{reports:?}");
    assert!(is_link(&copy));
    assert_eq!(std::fs::read(&input).unwrap(), before);
    assert!(hidden_files(&out).is_empty());
}

#[test]
fn long_names_stage_with_ordinary_permissions() {
    let dir = temp_dir();
    let d = dir.path();
    let out = d.join("out");
    // 250 bytes, near the 255-byte limit of a name on most file systems.
    let name = format!("{}.wav", "n".repeat(246));
    assert_eq!(name.len(), 250);
    let input = d.join(&name);
    write_tone(&input);
    let (code, reports) = stage(&out, &[&input], &["--gain", "-2"]);
    assert_eq!(code, 0, "{reports:?}");
    let copy = out.join(&name);
    assert!(copy.is_file());
    assert!(hidden_files(&out).is_empty());
    // The copy gets the permissions a newly created file gets here (not a temp file's 0600).
    let reference = d.join("reference");
    std::fs::File::create(&reference).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&copy), mode(&reference));
}

#[test]
fn a_copy_that_does_not_read_back_is_deleted_and_reported() {
    if !cfg!(debug_assertions) {
        eprintln!("skipped: the corruption hook exists only in debug builds");
        return;
    }
    let dir = temp_dir();
    let d = dir.path();
    let out = d.join("out");
    let wav = d.join("tone.wav");
    write_tone(&wav);
    let flac = d.join("tone24.flac");
    ffmpeg(&wav, &flac, &[]);
    let float = d.join("float.wav");
    write_wav(
        &float,
        48_000,
        &stereo(tone(48_000, -20.0, 1.0)),
        Fmt::F32,
        None,
    );
    let files: Vec<&Path> = vec![&wav, &flac, &float];
    // The hook flips one byte in the middle of each written copy before it is verified.
    let (code, reports) = stage_env(
        &out,
        &files,
        &["--gain", "-1"],
        &[("TRIMETER_TEST_CORRUPT_COPY", "1")],
    );
    assert_eq!(code, 1, "{reports:?}");
    for report in &reports {
        assert_eq!(report["ok"], Value::Bool(false), "{report}");
        assert!(error_of(report).contains("verification"), "{report}");
    }
    assert!(
        std::fs::read_dir(&out).unwrap().next().is_none(),
        "neither copies nor temporary files are left"
    );
    // Without the hook the same files stage and verify.
    let (code, reports) = stage(&out, &files, &["--gain", "-1"]);
    assert_eq!(code, 0, "{reports:?}");
    let names: Vec<OsString> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn a_full_disk_is_that_files_error_and_leaves_nothing_behind() {
    let dir = temp_dir();
    let d = dir.path();
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // 2 s of 24-bit stereo noise (576 kB of PCM, incompressible) as FLAC and WAV, and a small WAV.
    let planes: Vec<Vec<f32>> = (0..2)
        .map(|c| trimeter_meters::signals::white_noise(96_000, 0.25, 99 + c))
        .collect();
    let big_wav = d.join("big.wav");
    write_wav(&big_wav, 48_000, &planes, Fmt::I24, None);
    let big_flac = d.join("big.flac");
    ffmpeg(&big_wav, &big_flac, &[]);
    let small = d.join("small.wav");
    write_wav(
        &small,
        48_000,
        &stereo(tone(48_000, -20.0, 0.2)),
        Fmt::I16,
        None,
    );
    // A 256 kB file system: the big copies cannot fit, the small one can.
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&out)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: mounting a small tmpfs failed (needs root with CAP_SYS_ADMIN)");
        return;
    }
    let _unmount = Unmount(out.clone());
    let files: Vec<&Path> = vec![&big_flac, &big_wav, &small];
    // One thread: the files go one after the other, so the small copy comes after both failures
    // and needs the space they gave back.
    let (code, reports) = stage_env(
        &out,
        &files,
        &["--gain", "-1"],
        &[("RAYON_NUM_THREADS", "1")],
    );
    assert_eq!(code, 1, "{reports:?}");
    for report in &reports[..2] {
        assert_eq!(report["ok"], Value::Bool(false), "{report}");
        assert!(error_of(report).contains("write error"), "{report}");
    }
    assert_eq!(reports[2]["ok"], Value::Bool(true), "{reports:?}");
    let names: Vec<OsString> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![OsString::from("small.wav")]);
}
