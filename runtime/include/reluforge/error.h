// The one error type reluforge throws. Every message names the problem and, where it can, what
// would have been accepted.
#pragma once

#include <stdexcept>
#include <string>

namespace reluforge {

enum class ErrorCode {
    bad_spec,         // a kernel spec that does not parse or does not validate
    shape_mismatch,   // tensor extents that disagree with each other or with the spec
    null_data,        // a required tensor without data
    bad_dtype,        // a tensor of the wrong element type, or an unsupported dtype
    bad_layout,       // strides the kernels cannot take
    aliasing,         // an output overlapping an input or another output
    wrong_device,     // host memory where device memory is expected, or the reverse
    no_kernel,        // no kernel registered (or buildable) for a spec
    kernel_failed,    // a kernel returned an error
    bad_argument,     // anything else the caller passed wrongly
    corrupt_file,     // a database or cache file that does not parse
    no_device,        // a CUDA kernel asked for without a CUDA driver or device
};

const char *to_string(ErrorCode code);

class Error : public std::runtime_error {
public:
    Error(ErrorCode code, const std::string &message)
        : std::runtime_error(message), code_(code) {}
    ErrorCode code() const { return code_; }

private:
    ErrorCode code_;
};

}  // namespace reluforge
