#!/bin/sh
# Runs every mode of reluforge-bench once at small shapes (none a multiple of a vector, one wider
# than a mask group of 128 columns): each must run to its end with the implementations agreeing,
# since the bench prints "warning:" where one differs from reluforge.
# Usage: smoke_test.sh path/to/reluforge-bench
bench=$1
run() {
    echo "+ reluforge-bench $*"
    out=$("$bench" --reps 1 --min-ms 0 --acts relu,gelu "$@" 2>&1)
    rc=$?
    echo "$out"
    [ $rc -eq 0 ] || { echo "smoke_test: reluforge-bench $* exited with $rc"; exit 1; }
    if echo "$out" | grep -q "warning:"; then echo "smoke_test: reluforge-bench $* reported a disagreement"; exit 1; fi
}
run --threads 1 --shapes 37x20x29,24x64x144 --breakdown
# Each case's %peak is against the FMA peak measured beside it: every row records a positive one.
json=$(mktemp) || exit 1
trap 'rm -f "$json"' EXIT
run --threads 1 --shapes 37x20x29 --json "$json"
rows=$(grep -c '"impl"' "$json")
with_peak=$(grep -c '"peak_gflops": [1-9]' "$json")
[ "$rows" -gt 0 ] && [ "$rows" -eq "$with_peak" ] || { echo "smoke_test: $with_peak of $rows JSON rows have a measured peak"; exit 1; }
run --threads 1 --mlp 16:24-20-10,8:40-136-10
run --threads 2 --scaling --shapes 37x20x29
