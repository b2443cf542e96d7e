#include "reluforge/error.h"

namespace reluforge {

const char *to_string(ErrorCode code) {
    switch (code) {
    case ErrorCode::bad_spec: return "bad spec";
    case ErrorCode::shape_mismatch: return "shape mismatch";
    case ErrorCode::null_data: return "null data";
    case ErrorCode::bad_dtype: return "bad dtype";
    case ErrorCode::bad_layout: return "bad layout";
    case ErrorCode::aliasing: return "aliasing";
    case ErrorCode::wrong_device: return "wrong device";
    case ErrorCode::no_kernel: return "no kernel";
    case ErrorCode::kernel_failed: return "kernel failed";
    case ErrorCode::bad_argument: return "bad argument";
    case ErrorCode::corrupt_file: return "corrupt file";
    case ErrorCode::no_device: return "no device";
    }
    return "unknown error";
}

}  // namespace reluforge
