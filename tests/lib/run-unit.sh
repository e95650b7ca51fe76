#!/usr/bin/env bash
# Runs every check-based unit test binary in DIR; prints a summary line.
# VALGRIND=1 runs each under valgrind's leak checker (no fork, so leaks are seen).
set -u
dir=${1:?usage: run-unit.sh DIR}
pass=0 fail=0
for t in "$dir"/test_*; do
    [[ -x "$t" ]] || continue
    if [[ -n "${VALGRIND:-}" ]]; then
        CK_FORK=no valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --error-exitcode=99 "$t" >"$t.log" 2>&1
    else
        "$t" >"$t.log" 2>&1
    fi
    rc=$?
    if [[ $rc -eq 0 ]]; then
        pass=$((pass+1)); echo "  ok    $(basename "$t"): $(grep -E '^[0-9]+%' "$t.log" | tail -1)"
    else
        fail=$((fail+1)); echo "  FAIL  $(basename "$t") (exit $rc)"; sed 's/^/        /' "$t.log" | tail -40
    fi
done
echo "unit: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
