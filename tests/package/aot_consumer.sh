#!/usr/bin/env bash
# Installs this build of reluforge into a temporary prefix, builds examples/aot_consumer (a
# separate CMake project) against it, runs it, and checks that it needs neither Halide nor LLVM.
# Then checks that a bad spec in reluforge_add_kernels stops the configure with a clear message.
# With a Python interpreter, imports the installed Python module from the prefix and runs a kernel.
#   aot_consumer.sh <build dir> <source dir> <work dir> [CMake generator, default Ninja]
#                   [python3 and the module's directory under the prefix]
set -euo pipefail
build=$1 source=$2 work=$3 generator=${4:-Ninja} python=${5:-} python_dir=${6:-}
rm -rf "$work"
mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"

cmake -S "$source/examples/aot_consumer" -B "$work/consumer" -G "$generator" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log"
cmake --build "$work/consumer" > "$work/build.log"
"$work/consumer/aot_consumer"
# Nothing changed: generation does not run again.
cmake --build "$work/consumer" | tee "$work/rebuild.log"
grep -q "no work to do" "$work/rebuild.log"

if ldd "$work/consumer/aot_consumer" | grep -Ei 'halide|llvm'; then
    echo "aot_consumer.sh: the consumer links Halide or LLVM" >&2
    exit 1
fi
echo "ldd: neither Halide nor LLVM"

# A spec that does not parse is reported when CMake configures, with reluforge-gen's message.
mkdir -p "$work/bad"
cat > "$work/bad/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.24)
project(bad_spec LANGUAGES CXX)
find_package(reluforge REQUIRED)
reluforge_add_kernels(k SPECS "forward:relux")
CMAKE
if cmake -S "$work/bad" -B "$work/bad/build" -G "$generator" -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/bad.log" 2>&1; then
    echo "aot_consumer.sh: a bad spec configured without error" >&2
    exit 1
fi
grep -q "activation 'relux' is not one of" "$work/bad.log" || { cat "$work/bad.log"; exit 1; }
# The JIT component, for host programs that compile kernels at run time.
mkdir -p "$work/jit"
cat > "$work/jit/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.24)
project(jit_consumer LANGUAGES CXX)   # C++ only: the package must not need C
set(CMAKE_CXX_STANDARD 17)
find_package(reluforge REQUIRED COMPONENTS jit)
add_executable(jit_consumer main.cpp)
target_link_libraries(jit_consumer PRIVATE reluforge::jit)
CMAKE
cat > "$work/jit/main.cpp" <<'CPP'
#include <reluforge/jit/engine.h>
#include <reluforge/reluforge.h>
#include <cstdio>
int main() {
    reluforge::jit::enable();
    float x[6] = {1, -2, 3, -4, 5, -6}, w[6] = {1, 0, 0, 1, 1, 1}, y[4];
    reluforge::run_kernel("forward:relu:bias=0", {reluforge::Tensor::matrix(x, 2, 3), reluforge::Tensor::matrix(w, 3, 2),
                                                  reluforge::Tensor::matrix(y, 2, 2)});
    // relu([1 -2 3] . W) = relu([4 1]) and relu([-4 5 -6] . W) = relu([-10 -1])
    const bool ok = y[0] == 4 && y[1] == 1 && y[2] == 0 && y[3] == 0;
    std::printf("JIT kernel from the installed package: %s\n", ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
CPP
cmake -S "$work/jit" -B "$work/jit/build" -G "$generator" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/jit.log"
cmake --build "$work/jit/build" >> "$work/jit.log"
RELUFORGE_CACHE_DIR="$work/jit/cache" "$work/jit/build/jit_consumer"

echo "a bad spec stops the configure: $(grep -o "activation 'relux' is not one of[^.]*" "$work/bad.log" | head -1)"

# The Python module, as installed: found under the prefix by PYTHONPATH, its runtime by its RPATH.
# Matrices from the standard library (memoryview casts), so that no NumPy is needed here.
if [ -n "$python" ]; then
    out=$(cd / && PYTHONPATH="$work/prefix/$python_dir" RELUFORGE_CACHE_DIR="$work/python-cache" "$python" -c '
from array import array
import reluforge
def matrix(values, rows, cols):
    return memoryview(array("f", values)).cast("B").cast("f", [rows, cols])
x, w, y = matrix([1, -2, 3, -4, 5, -6], 2, 3), matrix([1, 0, 0, 1, 1, 1], 3, 2), matrix([0] * 4, 2, 2)
reluforge.run_kernel("forward:relu:bias=0", [x, w, y])
assert y.tolist() == [[4, 1], [0, 0]], y.tolist()
assert reluforge.__file__.startswith("'"$work/prefix"'"), reluforge.__file__
print("ok")')
    echo "Python module from the installed package: $out"
fi
