#!/usr/bin/env bash
# reluforge's two entry points on Debian bookworm (run as root, or as a user with sudo):
#   ./build.sh demo   install the dependencies, build, run the end-to-end demonstration
#   ./build.sh test   install the dependencies, build, run the whole test suite
#   ./build.sh sanitize   the same under AddressSanitizer + UBSan in build-asan (docs/hardening.md)
set -euo pipefail
cd "$(dirname "$0")"

# What a minimal Debian bookworm needs, and nothing more (checked with ../shared/tools/fresh-machine):
#   build      cmake ninja-build g++ libhalide14-0-dev llvm-14-dev libfmt-dev libcli11-dev
#              nlohmann-json3-dev zlib1g-dev (examples/mlp_train reads gzip files)
#   tests      catch2; dataset-fashion-mnist for examples/mlp_train; locales (the de_DE source that
#              the locale test compiles into the build tree); pocl-opencl-icd, an OpenCL platform on
#              the CPU that runs the GPU kernels where there is no GPU
#   python     pybind11-dev python3-dev libdlpack-dev (the module); python3-numpy python3-pytest
#              python3-torch (its tests; reluforge.torch)
#   bench      libdnnl-dev libopenblas-dev; ocl-icd-opencl-dev, which oneDNN's CMake package requires
#              (only a Recommends of libdnnl-dev)
packages=(cmake ninja-build g++ libhalide14-0-dev llvm-14-dev libfmt-dev libcli11-dev nlohmann-json3-dev
          zlib1g-dev catch2 dataset-fashion-mnist locales libdnnl-dev libopenblas-dev ocl-icd-opencl-dev
          pocl-opencl-icd pybind11-dev python3-dev libdlpack-dev python3-numpy python3-pytest
          python3-torch)

install_dependencies() {
    local missing=()
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    ((${#missing[@]} == 0)) && return 0
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "build.sh: installing ${missing[*]}"
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

build() {
    cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
    cmake --build build -j "$(nproc)" "$@"
}

case "${1:-}" in
demo)
    install_dependencies
    build --target reluforge-demo
    ./build/examples/demo/reluforge-demo
    ;;
test)
    install_dependencies
    build
    ctest --test-dir build --output-on-failure -j "$(nproc)"
    ;;
sanitize)
    install_dependencies
    # reluforge's own code under the sanitizers; Halide's output is the same either way, so the
    # kernels come from the plain build (its reluforge-gen and its test kernels): under
    # AddressSanitizer's allocator Halide's compiler runs several times slower.
    build --target reluforge-gen test_kernels
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRELUFORGE_SANITIZE=ON \
          -DRELUFORGE_BUILD_EXAMPLES=OFF -DRELUFORGE_BUILD_PYTHON=OFF -DRELUFORGE_KERNEL_GENERATOR="$PWD/build/tools/reluforge-gen" \
          -DRELUFORGE_TEST_KERNELS_FROM="$PWD/build"
    cmake --build build-asan -j "$(nproc)"
    # Left out (docs/hardening.md says why): the PTX check, the quick tuner, the f16 JIT tests,
    # every default-table variant against the reference, packed weights' bits on every ISA, chained
    # backward from a mask over aligned K on every ISA.
    ASAN_OPTIONS=abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        ctest --test-dir build-asan --output-on-failure -j "$(nproc)" \
        -E 'cuda.ptx_assembles|tune.quick|f16 storage|every variant this CPU runs|bits of forward over .K,N. weights|bit mask over K a multiple of 16'
    ;;
*)
    echo "usage: ./build.sh demo | test | sanitize" >&2
    exit 2
    ;;
esac
