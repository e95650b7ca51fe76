#!/usr/bin/env bash
# Runs each libFuzzer binary in DIR for SECONDS (default 20) on its seed corpus.
set -u
dir=${1:?usage: run-fuzz.sh DIR [SECONDS]}; secs=${2:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
fail=0 pass=0
for f in "$dir"/fuzz_*; do
    [[ -x "$f" ]] || continue
    name=$(basename "$f")
    corpus=$top/build-fuzz/corpus/$name; mkdir -p "$corpus"
    seeds=$top/tests/fuzz/corpus/$name
    args=("$corpus"); [[ -d $seeds ]] && args+=("$seeds")
    if "$f" -max_total_time="$secs" -rss_limit_mb=2048 -max_len=65536 "${args[@]}" >"$corpus.log" 2>&1; then
        pass=$((pass+1)); echo "  ok    $name: $(grep -oE '#[0-9]+.*exec/s: [0-9]+' "$corpus.log" | tail -1)"
    else
        fail=$((fail+1)); echo "  FAIL  $name"; tail -30 "$corpus.log"
    fi
done
echo "fuzz: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
