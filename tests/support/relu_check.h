// A quick check of forward relu kernels for tests about schedules: how many outputs are wrong.
#pragma once

#include "reference/reference.h"

namespace cases {

// Outputs of y = relu(x · w + b), x [M,K], w [K,N], b [1,N], off the double-precision result by
// more than the summation bound 4 (K + 2) 2^-24 Σ|terms|.
int wrong_relu_outputs(const ref::Mat &x, const ref::Mat &w, const ref::Mat &b, const ref::Mat &y);

}  // namespace cases
