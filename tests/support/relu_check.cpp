#include "relu_check.h"

#include <cmath>

namespace cases {

int wrong_relu_outputs(const ref::Mat &x, const ref::Mat &w, const ref::Mat &b, const ref::Mat &y) {
    const int M = x.rows, K = x.cols, N = w.cols;
    int wrong = 0;
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            double z = b(0, j), mag = std::abs(b(0, j));
            for (int k = 0; k < K; k++) {
                const double term = double(x(i, k)) * w(k, j);
                z += term, mag += std::abs(term);
            }
            wrong += std::abs(y(i, j) - (z > 0 ? z : 0)) > 4 * (K + 2) * std::ldexp(1.0, -24) * mag;
        }
    }
    return wrong;
}

}  // namespace cases
