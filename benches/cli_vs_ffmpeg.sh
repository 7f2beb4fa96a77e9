#!/usr/bin/env bash
# Benchmark `trimeter analyze` against `ffmpeg -af ebur128=peak=true` (whole process, same run).
#
# Usage: benches/cli_vs_ffmpeg.sh [MINUTES] [FILES]
#   MINUTES  length of the stereo 48 kHz test file (default 10)
#   FILES    number of files for the multi-file scaling run (default 8, each MINUTES/FILES long)
#
# Needs ffmpeg and taskset. Builds the release binary into $CARGO_TARGET_DIR (or target/).
# Prints wall-clock seconds per run and the ratios. This is a script, not a timed test: numbers
# depend on the machine, so they are documented in README rather than asserted.
set -euo pipefail

MINUTES="${1:-10}"
FILES="${2:-8}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/trimeter"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

command -v ffmpeg >/dev/null || { echo "ffmpeg is required" >&2; exit 2; }
command -v taskset >/dev/null || { echo "taskset is required (util-linux)" >&2; exit 2; }

(cd "$ROOT" && cargo build --release --quiet --bin trimeter)

SECONDS_LONG=$((MINUTES * 60))
echo "Generating ${MINUTES} min of stereo 48 kHz 24-bit pink noise..."
ffmpeg -v error -f lavfi -i "anoisesrc=color=pink:sample_rate=48000:amplitude=0.25:seed=42:duration=${SECONDS_LONG}" \
    -af "pan=stereo|c0=c0|c1=0.7*c0" -c:a pcm_s24le "$WORK/long.wav"
PART=$((SECONDS_LONG / FILES))
for i in $(seq 1 "$FILES"); do
    ffmpeg -v error -ss $(((i - 1) * PART)) -t "$PART" -i "$WORK/long.wav" -c copy "$WORK/part$i.wav"
done

# Best of three wall-clock runs, in seconds.
best_of_3() {
    local best=""
    for _ in 1 2 3; do
        local start end t
        start=$(date +%s.%N)
        "$@" >/dev/null 2>&1
        end=$(date +%s.%N)
        t=$(echo "$end - $start" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
    done
    printf '%.3f' "$best"
}

# Warm the page cache so both tools read from memory.
cat "$WORK"/*.wav >/dev/null

echo "One ${MINUTES}-minute file, one core (taskset -c 0):"
T_FF=$(best_of_3 taskset -c 0 ffmpeg -nostats -hide_banner -i "$WORK/long.wav" -af ebur128=peak=true -f null -)
T_TM=$(RAYON_NUM_THREADS=1 best_of_3 taskset -c 0 "$BIN" analyze --json "$WORK/long.wav")
echo "  ffmpeg ebur128=peak=true : ${T_FF} s"
echo "  trimeter analyze         : ${T_TM} s"
echo "  ratio (ffmpeg / trimeter): $(echo "scale=1; $T_FF / $T_TM" | bc -l)x"
echo "  trimeter per stereo frame: $(echo "scale=2; $T_TM * 1000000000 / ($SECONDS_LONG * 48000)" | bc -l) ns (decode + all meters)"

CORES=$(nproc)
echo "${FILES} files of ${PART} s, 1 thread vs ${CORES} threads:"
T_1=$(RAYON_NUM_THREADS=1 best_of_3 "$BIN" analyze --json "$WORK"/part*.wav)
T_N=$(RAYON_NUM_THREADS="$CORES" best_of_3 "$BIN" analyze --json "$WORK"/part*.wav)
echo "  1 thread  : ${T_1} s"
echo "  ${CORES} threads : ${T_N} s"
echo "  speed-up  : $(echo "scale=2; $T_1 / $T_N" | bc -l)x on ${CORES} cores"
