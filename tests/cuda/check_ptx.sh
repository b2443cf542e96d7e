#!/usr/bin/env bash
# Generates the CUDA PTX of every kernel in the given spec files (default CUDA schedule) for
# capability 8.0, assembled with ptxas for sm_80 (A100), and for capability 8.6, the PTX an H100
# runs, assembled for sm_90; prints the registers and spills of every kernel and fails on any
# ptxas error. Needs no GPU. Exits 77 (skipped) when ptxas is not there.
#   check_ptx.sh <reluforge-gen> <work dir> <specs file>...
set -euo pipefail
gen=$1 work=$2
shift 2
ptxas=$(command -v ptxas || true)
[ -z "$ptxas" ] && [ -x /usr/local/cuda/bin/ptxas ] && ptxas=/usr/local/cuda/bin/ptxas
if [ -z "$ptxas" ]; then
    echo "check_ptx.sh: skipped: no ptxas in PATH or /usr/local/cuda/bin (install the CUDA toolkit to run this check)"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"
cat "$@" > "$work/specs.txt"
"$gen" --ptx-dir "$work/ptx" --cuda-capability 80,86 --specs-file "$work/specs.txt"
report="$work/report.txt"
: > "$report"
kernels=0 failures=0 max_regs=0 spills=0
for ptx in "$work"/ptx/*.ptx; do
    kernels=$((kernels + 1))
    case "$ptx" in *.sm80.ptx) arch=sm_80 ;; *) arch=sm_90 ;; esac
    {
        if ! out=$("$ptxas" -arch=$arch -v "$ptx" -o /dev/null 2>&1); then
            echo "ptxas $arch failed on $(basename "$ptx"):"; echo "$out"
            failures=$((failures + 1))
            continue
        fi
        regs=$(echo "$out" | sed -n 's/.*Used \([0-9]*\) registers.*/\1/p' | sort -n | tail -1)
        spill=$(echo "$out" | sed -n 's/.* \([0-9]*\) bytes spill stores.*/\1/p' | awk '{s += $1} END {print s + 0}')
        echo "$(basename "$ptx" .ptx) $arch registers=${regs:-0} spill_store_bytes=$spill" >> "$report"
        [ "${regs:-0}" -gt "$max_regs" ] && max_regs=$regs
        spills=$((spills + spill))
    }
done
# Through a file: head closing a pipe early would kill sort with SIGPIPE under pipefail.
sort -t= -k2 -n -r "$report" > "$work/by_registers.txt"
sed -n '1,5s/^/  most registers: /p' "$work/by_registers.txt"
echo "$kernels kernels (capability 8.0 and 8.6 PTX): assembled for sm_80 and sm_90 with $failures failures; at most $max_regs registers per thread; $spills bytes of spill stores; report: $report"
[ "$failures" -eq 0 ]
