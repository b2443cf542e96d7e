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
run --threads 1 --mlp 16:24-20-10,8:40-136-10
run --threads 2 --scaling --shapes 37x20x29
