#!/usr/bin/env bash
# Runs the libFuzzer targets built in BUILD_DIR/bin (see fuzz/README.md).
#
#   fuzz/run.sh run BUILD_DIR SECONDS TARGET...   each target for SECONDS on its working
#       corpus BUILD_DIR/corpus/<target> (seeded from fuzz/corpus/<target>); one summary
#       line per target; exits 1 if any target crashed, leaked, tripped a sanitizer, failed
#       a property, timed out or ran out of memory. Logs: BUILD_DIR/logs/<target>.log,
#       reproducers: BUILD_DIR/artifacts/<target>-*.
#   fuzz/run.sh merge BUILD_DIR TARGET...         merges what the working corpora found
#       into fuzz/corpus/<target> (only inputs that add coverage).
#
# Run from the repository root.
set -uo pipefail

# Longest input each target is given: room for a few large documents, not for megabytes.
max_len() {
  case "$1" in
    shipment_json) echo 4096 ;;
    tracking_event_json) echo 2048 ;;
    tracking_body) echo 16384 ;;
    query_params) echo 2048 ;;
    cursors) echo 512 ;;
    rfc3339) echo 64 ;;
    config_toml) echo 4096 ;;
    http_request) echo 8192 ;;
    row_codec) echo 1024 ;;
    *) echo 4096 ;;
  esac
}

# UBSan findings abort (the build also uses -fno-sanitize-recover=undefined) with a stack.
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

stat_of() {  # stat_of LOG NAME: a value of libFuzzer's -print_final_stats=1 block
  sed -n "s/^stat::$2: *//p" "$1" | tail -n 1
}

run() {
  local build=$1 seconds=$2
  shift 2
  mkdir -p "$build/corpus" "$build/artifacts" "$build/logs"
  local failed=0 target
  printf '%-20s %12s %9s %16s %8s\n' target executions exec/s corpus crashes
  for target in "$@"; do
    local bin="$build/bin/${target}_fuzz"
    local corpus="$build/corpus/$target"
    local log="$build/logs/$target.log"
    local prefix="$build/artifacts/$target-"
    mkdir -p "$corpus"
    cp -R "fuzz/corpus/$target/." "$corpus/"
    local before
    before=$(find "$corpus" -type f | wc -l)
    local dict=()
    if [ -f "fuzz/dict/$target.dict" ]; then dict=("-dict=fuzz/dict/$target.dict"); fi
    "$bin" -max_total_time="$seconds" -max_len="$(max_len "$target")" -timeout=25 \
      -print_final_stats=1 -artifact_prefix="$prefix" "${dict[@]}" "$corpus" >"$log" 2>&1
    local rc=$?
    local execs rate after artifacts crashes
    execs=$(stat_of "$log" number_of_executed_units)
    rate=$(stat_of "$log" average_exec_per_sec)
    after=$(find "$corpus" -type f | wc -l)
    artifacts=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
    crashes=$(printf '%s' "$artifacts" | grep -c . || true)
    if ((rc != 0 && crashes == 0)); then crashes=1; fi
    printf '%-20s %12s %9s %16s %8s\n' "$target" "${execs:-?}" "${rate:-?}" \
      "$after (+$((after - before)))" "$crashes"
    if ((rc != 0)); then
      failed=1
      echo "  $target: exit $rc, log $log" >&2
      grep -m 3 -E '^==[0-9]+==ERROR|^==FUZZ_CHECK==|^SUMMARY|runtime error|ALARM|out-of-memory' \
        "$log" | sed 's/^/    /' >&2
      printf '%s\n' "$artifacts" | sed '/^$/d; s/^/  reproducer: /' >&2
    fi
  done
  if ((failed)); then
    echo "fuzz: FAILED (reproducers in $build/artifacts; replay one with $build/bin/<target>_fuzz FILE)" >&2
    return 1
  fi
  echo "fuzz: no findings"
}

merge() {
  local build=$1
  shift
  local target
  for target in "$@"; do
    if [ ! -d "$build/corpus/$target" ]; then continue; fi
    local before after
    before=$(find "fuzz/corpus/$target" -type f | wc -l)
    "$build/bin/${target}_fuzz" -merge=1 -max_len="$(max_len "$target")" \
      "fuzz/corpus/$target" "$build/corpus/$target" >"$build/logs/$target-merge.log" 2>&1 ||
      { echo "fuzz-merge: $target failed, see $build/logs/$target-merge.log" >&2; return 1; }
    after=$(find "fuzz/corpus/$target" -type f | wc -l)
    echo "fuzz-merge: $target: $before -> $after seed files"
  done
}

mode=${1:-}
shift || true
case "$mode" in
  run) run "$@" ;;
  merge)
    mkdir -p "$1/logs"
    merge "$@"
    ;;
  *)
    echo "usage: $0 run BUILD_DIR SECONDS TARGET... | $0 merge BUILD_DIR TARGET..." >&2
    exit 2
    ;;
esac
