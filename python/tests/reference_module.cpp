// tests/reference (the independent double-precision reference) for the Python tests: the
// activations and their derivatives elementwise over float64 arrays, and the contract's bound for
// a reduction. Nothing here calls reluforge's kernels.
#include "reference/reference.h"

#include "reluforge/activation.h"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

namespace py = pybind11;
using Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

namespace {

template <typename F>
Array elementwise(const Array &in, F f) {
    Array out(in.request().shape);
    const double *src = in.data();
    double *dst = out.mutable_data();
    for (py::ssize_t k = 0; k < in.size(); k++) dst[k] = f(src[k]);
    return out;
}

}  // namespace

PYBIND11_MODULE(_reluforge_reference, m) {
    m.def("act", [](const std::string &act, const Array &z, double slope) {
        const auto a = reluforge::parse_activation(act);
        return elementwise(z, [&](double v) { return ref::act(a, v, slope); });
    }, py::arg("activation"), py::arg("z"), py::arg("slope") = 0.25);
    m.def("grad", [](const std::string &act, const Array &z, double slope) {
        const auto a = reluforge::parse_activation(act);
        return elementwise(z, [&](double v) { return ref::grad(a, v, slope); });
    }, py::arg("activation"), py::arg("z"), py::arg("slope") = 0.25);
    m.def("grad2", [](const std::string &act, const Array &z, double slope) {
        const auto a = reluforge::parse_activation(act);
        return elementwise(z, [&](double v) { return ref::grad2(a, v, slope); });
    }, py::arg("activation"), py::arg("z"), py::arg("slope") = 0.25);
    m.def("mask_bit", [](const std::string &act, const Array &z) {
        const auto a = reluforge::parse_activation(act);
        return elementwise(z, [&](double v) { return ref::mask_bit(a, v) ? 1.0 : 0.0; });
    }, py::arg("activation"), py::arg("z"));
    m.def("reduction_bound", [](int k, const Array &mag) {
        return elementwise(mag, [&](double v) { return ref::reduction_bound(k, v); });
    }, py::arg("k"), py::arg("mag"));
}
