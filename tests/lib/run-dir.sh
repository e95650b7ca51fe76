#!/usr/bin/env bash
# Runs every test script in DIR (NNNN-name.sh / .py), in order. Exit 77 = skipped.
# TESTS=pattern selects by substring. Output of failing tests is shown.
set -u
dir=${1:?usage: run-dir.sh DIR}
top=$(cd "$(dirname "$0")/../.." && pwd)
export GREGOR_TOP=$top
pass=0 fail=0 skip=0
for t in "$dir"/[0-9]*; do
    [[ -f "$t" ]] || continue
    name=$(basename "$t")
    [[ -n "${TESTS:-}" && "$name" != *"$TESTS"* ]] && continue
    log=$(mktemp /tmp/gregor-test.XXXXXX)
    start=$(date +%s)
    case "$t" in
        *.py) timeout 600 /usr/bin/python3 "$t" >"$log" 2>&1 ;;
        *.sh) timeout 600 bash "$t" >"$log" 2>&1 ;;
        *) continue ;;
    esac
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [[ $rc -eq 0 ]]; then pass=$((pass+1)); echo "  ok    $name (${secs}s)"
    elif [[ $rc -eq 77 ]]; then skip=$((skip+1)); echo "  skip  $name: $(tail -1 "$log")"
    else fail=$((fail+1)); echo "  FAIL  $name (exit $rc, ${secs}s)"; tail -60 "$log" | sed 's/^/        /'
    fi
    if [[ $rc -ne 0 && $rc -ne 77 ]]; then cp "$log" "/tmp/gregor-failed-$name.log"; echo "        (full output: /tmp/gregor-failed-$name.log)"; fi
    rm -f "$log"
done
echo "$(basename "$dir"): $pass passed, $fail failed, $skip skipped"
[[ $fail -eq 0 ]]
