#!/usr/bin/env bash
# A short autotuning session: tune one spec for two shapes on this machine, build AOT kernels
# from the tuning database with reluforge_add_kernels(... TUNING_DB ...), and time them against
# the default schedules.
#   examples/autotune_session/run.sh <reluforge install prefix> <work dir> [budget seconds]
set -euo pipefail
prefix=$1 work=$2 budget=${3:-120}
here=$(cd "$(dirname "$0")" && pwd)
spec="forward:relu:bias=1:weight=kn:save=mask"
mkdir -p "$work"
"$prefix/bin/reluforge-tune" --db "$work/tuning.json" --spec "$spec" --shape 256x512x512,4096x256x64 \
    --budget-s "$budget" --baseline adams2019
cmake -S "$here" -B "$work/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" \
      -DTUNING_DB="$work/tuning.json" > "$work/configure.log"
cmake --build "$work/build" > "$work/build.log" || { cat "$work/build.log"; exit 1; }
grep "reluforge-gen: " "$work/build.log" || true
RELUFORGE_CACHE_DIR="$work/cache" "$work/build/autotune_demo"
