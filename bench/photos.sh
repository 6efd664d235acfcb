#!/usr/bin/env bash
# Photo pipeline vs vipsthumbnail, side by side in one run: our validate + strip + 400 px thumbnail
# against `vipsthumbnail -s 400`, our 1600 px display copy against `vipsthumbnail -s 1600`, and our
# server path (both copies from one decode) against the two vips runs; then peak RSS of one photo.
# Inputs: ../shared/data/photos/mobile/jolla.jpg and a generated 12 MP JPEG (seeded, quality 90).
# Usage: bench/photos.sh [ROUNDS] [BATCH]   (defaults 21 rounds of 10 photos per run)
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${1:-21}"
BATCH="${2:-10}"
DATA="$PWD/target/bench-data/photos"
JOLLA="$PWD/../shared/data/photos/mobile/jolla.jpg"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"

if ! command -v vipsthumbnail >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq libvips-tools >/dev/null
fi
if [ ! -x /usr/bin/time ]; then
    apt-get update -qq && apt-get install -y -qq time >/dev/null
fi

cargo build --release -p jiuzhu-photos --example photo_bench
BIN="$PWD/target/release/examples/photo_bench"
mkdir -p "$DATA"
"$BIN" generate "$DATA/phone12mp.jpg"

echo
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1), $(free -g | awk '/^Mem:/{print $2}') GiB"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); $(vips --version); load average: $(cut -d' ' -f1-3 /proc/loadavg)"

peak_rss() { # command... → peak RSS in MB of that process
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}'
}

OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT
for photo in "$JOLLA" "$DATA/phone12mp.jpg"; do
    echo
    "$BIN" compare "$photo" "$ROUNDS" "$BATCH"
    echo "peak RSS of one photo (MB): ours 400 $(peak_rss "$BIN" once "$photo" thumb)," \
        "ours 1600 $(peak_rss "$BIN" once "$photo" display)," \
        "ours both $(peak_rss "$BIN" once "$photo" full)," \
        "vips -s 400 $(peak_rss vipsthumbnail -s 400 -o "$OUT/%s_t.jpg[Q=82,strip]" "$photo")," \
        "vips -s 1600 $(peak_rss vipsthumbnail -s 1600 -o "$OUT/%s_d.jpg[Q=82,strip]" "$photo")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
