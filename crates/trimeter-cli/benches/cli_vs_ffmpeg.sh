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

# Best of three runs: prints "WALL CPU" in seconds (CPU = user + system, which other load on a
# shared machine disturbs less than wall-clock time).
best_of_3() {
    local best="" best_cpu=""
    for _ in 1 2 3; do
        /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$@" >/dev/null 2>&1
        read -r wall user sys <"$WORK/time"
        local cpu
        cpu=$(echo "$user + $sys" | bc -l)
        if [ -z "$best" ] || [ "$(echo "$wall < $best" | bc -l)" = 1 ]; then best=$wall; fi
        if [ -z "$best_cpu" ] || [ "$(echo "$cpu < $best_cpu" | bc -l)" = 1 ]; then best_cpu=$cpu; fi
    done
    printf '%.3f %.3f' "$best" "$best_cpu"
}
ratio() { echo "scale=1; $1 / $2" | bc -l; }

# Warm the page cache so both tools read from memory.
cat "$WORK"/*.wav >/dev/null

echo "One ${MINUTES}-minute file, one core (taskset -c 0):"
read -r FF_WALL FF_CPU <<<"$(best_of_3 taskset -c 0 ffmpeg -nostats -hide_banner -i "$WORK/long.wav" -af ebur128=peak=true -f null -)"
read -r TM_WALL TM_CPU <<<"$(RAYON_NUM_THREADS=1 best_of_3 taskset -c 0 "$BIN" analyze --json "$WORK/long.wav")"
echo "                             wall s   cpu s"
echo "  ffmpeg ebur128=peak=true : ${FF_WALL}   ${FF_CPU}"
echo "  trimeter analyze         : ${TM_WALL}   ${TM_CPU}"
echo "  ratio (ffmpeg / trimeter): $(ratio "$FF_WALL" "$TM_WALL")x wall, $(ratio "$FF_CPU" "$TM_CPU")x cpu"
echo "  trimeter per stereo frame: $(echo "scale=2; $TM_CPU * 1000000000 / ($SECONDS_LONG * 48000)" | bc -l) ns cpu (decode + all meters + process start)"

CORES=$(nproc)
echo "${FILES} files of ${PART} s, 1 thread vs ${CORES} threads:"
read -r T_1 _ <<<"$(RAYON_NUM_THREADS=1 best_of_3 taskset -c 0 "$BIN" analyze --json "$WORK"/part*.wav)"
read -r T_N _ <<<"$(RAYON_NUM_THREADS="$CORES" best_of_3 taskset -c "0-$((CORES - 1))" "$BIN" analyze --json "$WORK"/part*.wav)"
echo "  1 thread  : ${T_1} s wall"
echo "  ${CORES} threads : ${T_N} s wall"
echo "  speed-up  : $(echo "scale=2; $T_1 / $T_N" | bc -l)x on ${CORES} cores (wall; needs an otherwise idle machine)"
