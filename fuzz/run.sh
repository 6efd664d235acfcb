#!/usr/bin/env bash
# The long run: every fuzz target in turn for SECONDS each (default 300), one libFuzzer process at
# a time (no -jobs/-workers: the machine is shared), growing fuzz/corpus/<target>/ in place. Crashes, hangs and
# out-of-memory inputs land in fuzz/artifacts/<target>/ and stop that target's run. Prints one
# line of figures per target; the whole libFuzzer log is in fuzz/logs/<target>.log.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
set -uo pipefail
cd "$(dirname "$0")"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  targets=(id_number form_expr form_validate photo_intake jpeg_dc exif geojson_import csv_import)
fi
mkdir -p logs
# Safe Rust and no unsafe code of ours: the sanitizer adds little and halves the speed.
cargo +nightly fuzz build --sanitizer none || exit 1
status=0
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  cargo +nightly fuzz run --sanitizer none "$t" "corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    >"logs/$t.log" 2>&1
  rc=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | grep -o '[0-9]*$' | tail -1)
  files=$(find "corpus/$t" -type f | wc -l)
  bytes=$(du -sb "corpus/$t" | cut -f1)
  found=$(find "artifacts/$t" -type f | wc -l)
  echo "$t: exit $rc, ${execs:-?} executions in ${seconds} s, corpus $files files / $bytes bytes, $found artifacts"
  [ "$rc" -eq 0 ] || status=1
done
exit $status
