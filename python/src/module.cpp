// reluforge._reluforge: specs, kernel calls on DLPack tensors, the JIT's options, kernel lookup
// and threads. reluforge/__init__.py re-exports it; reluforge/torch.py builds on it.
#include "python_tensor.h"

#include "reluforge/jit/engine.h"
#include "reluforge/reluforge.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <dlfcn.h>
#include <fmt/format.h>

#include <mutex>
#include <optional>

namespace py = pybind11;
using namespace reluforge;

namespace {

// The JIT starts with its defaults the first time a kernel is asked for, unless
// reluforge.jit.enable chose its options first.
std::mutex g_jit_mutex;
bool g_jit_enabled = false;

void ensure_jit() {
    std::lock_guard lock(g_jit_mutex);
    if (!g_jit_enabled) {
        jit::enable();
        g_jit_enabled = true;
    }
}

void enable_jit(std::optional<std::string> cache_dir, std::optional<double> cache_cap_mb, bool disk_cache, bool quiet,
                std::optional<std::string> tuning_db) {
    std::lock_guard lock(g_jit_mutex);
    if (g_jit_enabled) {
        throw Error(ErrorCode::bad_argument,
                    "the JIT is already running (a kernel was asked for, or enable was called): call "
                    "reluforge.jit.enable before the first kernel");
    }
    jit::Options o;
    if (cache_dir) o.cache_dir = *cache_dir;
    if (cache_cap_mb) {
        if (!(*cache_cap_mb >= 0 && *cache_cap_mb < 1e12)) {
            throw Error(ErrorCode::bad_argument, fmt::format("cache_cap_mb {} must be between 0 and 1e12", *cache_cap_mb));
        }
        o.cache_cap_bytes = std::uint64_t(*cache_cap_mb * 1024 * 1024);
    }
    o.use_disk_cache = disk_cache;
    o.quiet = quiet;
    if (tuning_db) o.tuning_db = *tuning_db;
    jit::enable(o);
    g_jit_enabled = true;
}

py::dict jit_stats() {
    py::dict d;
    {
        std::lock_guard lock(g_jit_mutex);
        if (!g_jit_enabled) return d;
    }
    const jit::Stats s = jit::enable().stats();
    d["compiled"] = s.compiled;
    d["loaded_from_disk"] = s.loaded_from_disk;
    d["memory_hits"] = s.memory_hits;
    d["corrupt_entries"] = s.corrupt_entries;
    d["warnings"] = s.warnings;
    return d;
}

KernelSpec spec_of(py::handle spec) {
    if (py::isinstance<KernelSpec>(spec)) return spec.cast<KernelSpec>();
    if (py::isinstance<py::str>(spec)) return parse_spec(spec.cast<std::string>());
    throw Error(ErrorCode::bad_spec, fmt::format("a spec is a str or a reluforge.Spec, not a {}",
                                                 std::string(py::str(py::type::of(spec).attr("__name__")))));
}

Device device_of(const std::string &name) {
    if (name == "cpu") return Device::cpu;
    if (name == "cuda") return Device::cuda;
    if (name == "opencl") return Device::opencl;
    throw Error(ErrorCode::bad_argument, fmt::format("device '{}' is not one of 'cpu', 'cuda', 'opencl'", name));
}

// The kernel's tensors in signature order: a sequence (None for an optional one not given) or a
// mapping by argument name.
std::vector<python::HeldTensor> held_tensors(const KernelSpec &spec, py::handle tensors) {
    const auto slots = kernel_signature(spec);
    std::vector<python::HeldTensor> held(slots.size());
    auto take = [&](std::size_t k, py::handle obj) {
        if (!obj.is_none()) held[k] = python::tensor_from_python(obj, slots[k].name, slots[k].output);
    };
    std::string names;
    for (const auto &s : slots) names += fmt::format("{}{}", names.empty() ? "" : ", ", s.name);
    if (py::isinstance<py::dict>(tensors)) {
        const auto given = tensors.cast<py::dict>();
        std::size_t used = 0;
        for (std::size_t k = 0; k < slots.size(); k++) {
            if (given.contains(slots[k].name)) {
                take(k, given[slots[k].name]);
                used++;
            }
        }
        if (used != given.size()) {
            for (auto item : given) {
                const std::string key = py::str(item.first);
                bool known = false;
                for (const auto &s : slots) known = known || key == s.name;
                if (!known) {
                    throw Error(ErrorCode::bad_argument,
                                fmt::format("'{}' is not an argument of '{}'; its arguments: {}", key, to_string(spec), names));
                }
            }
        }
        return held;
    }
    if (!py::isinstance<py::sequence>(tensors) || py::isinstance<py::str>(tensors)) {
        throw Error(ErrorCode::bad_argument, "tensors are a list in the kernel's argument order or a dict by name");
    }
    const auto seq = tensors.cast<py::sequence>();
    if (seq.size() > slots.size()) {
        throw Error(ErrorCode::bad_argument, fmt::format("{} tensors for '{}', which takes {}: {}", seq.size(),
                                                         to_string(spec), slots.size(), names));
    }
    for (std::size_t k = 0; k < seq.size(); k++) take(k, seq[k]);
    return held;
}

void run(py::handle spec_obj, py::handle tensors) {
    const KernelSpec spec = spec_of(spec_obj);
    ensure_jit();
    const auto held = held_tensors(spec, tensors);
    std::vector<Tensor> views;
    for (const auto &h : held) views.push_back(h.view);
    py::gil_scoped_release unlocked;  // `held` keeps every buffer alive meanwhile
    run_kernel(spec, views);
}

py::dict describe_kernel(const KernelHandle &k) {
    py::dict d;
    d["spec"] = to_string(k.spec);
    d["device"] = to_string(k.device);
    d["isa"] = k.device == Device::cpu ? to_string(k.isa) : "";
    d["variant"] = k.shape_rule;
    d["source"] = k.jit ? "jit" : "aot";
    d["cuda_capability"] = k.cuda_capability;
    return d;
}

py::list signature(py::handle spec_obj) {
    py::list out;
    for (const auto &s : kernel_signature(spec_of(spec_obj))) {
        py::dict d;
        d["name"] = s.name;
        d["output"] = s.output;
        d["dtype"] = to_string(s.dtype);
        d["shape"] = shape_text(s);
        d["mask"] = s.is_mask;
        out.append(d);
    }
    return out;
}

// The JIT links kernels against the Halide runtime that libreluforge_runtime.so exports, looking
// it up in the process's global scope; Python loads extensions and their libraries RTLD_LOCAL, so
// the library is promoted to RTLD_GLOBAL first.
void make_runtime_global() {
    Dl_info info{};
    if (dladdr(reinterpret_cast<void *>(&reluforge::num_threads), &info) == 0 || !info.dli_fname) {
        throw std::runtime_error("reluforge: cannot locate libreluforge_runtime");
    }
    if (!dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL)) {
        throw std::runtime_error(fmt::format("reluforge: cannot make {} global: {}", info.dli_fname, dlerror()));
    }
}

// The ErrorCode's own name ("bad_spec"), which Python code compares against.
const char *code_name(ErrorCode c) {
    switch (c) {
    case ErrorCode::bad_spec: return "bad_spec";
    case ErrorCode::shape_mismatch: return "shape_mismatch";
    case ErrorCode::null_data: return "null_data";
    case ErrorCode::bad_dtype: return "bad_dtype";
    case ErrorCode::bad_layout: return "bad_layout";
    case ErrorCode::aliasing: return "aliasing";
    case ErrorCode::wrong_device: return "wrong_device";
    case ErrorCode::no_kernel: return "no_kernel";
    case ErrorCode::kernel_failed: return "kernel_failed";
    case ErrorCode::bad_argument: return "bad_argument";
    case ErrorCode::corrupt_file: return "corrupt_file";
    case ErrorCode::no_device: return "no_device";
    }
    return "unknown";
}

}  // namespace

PYBIND11_MODULE(_reluforge, m) {
    m.doc() = "reluforge: fused matmul + bias + activation kernels, forward and backward";
    m.attr("__version__") = version;
    make_runtime_global();

    // reluforge.Error: every refusal, with .code naming its kind (error.h's ErrorCode).
    static py::exception<Error> error(m, "Error", PyExc_RuntimeError);
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const Error &e) {
            py::object instance = py::reinterpret_borrow<py::object>(error.ptr())(e.what());
            instance.attr("code") = code_name(e.code());
            PyErr_SetObject(error.ptr(), instance.ptr());
        }
    });

    py::class_<KernelSpec>(m, "Spec", "A kernel spec, parsed and validated; str() is its canonical text.")
        .def(py::init([](const std::string &text) { return parse_spec(text); }), py::arg("text"))
        .def("__str__", [](const KernelSpec &s) { return to_string(s); })
        .def("__repr__", [](const KernelSpec &s) { return fmt::format("reluforge.Spec('{}')", to_string(s)); })
        .def("__eq__", [](const KernelSpec &a, const KernelSpec &b) { return a == b; })
        .def("__hash__", [](const KernelSpec &s) { return hash(s); })
        .def_property_readonly("op", [](const KernelSpec &s) { return to_string(s.op); })
        .def_property_readonly("activation", [](const KernelSpec &s) { return to_string(s.act); })
        .def_property_readonly("bias", [](const KernelSpec &s) { return s.bias; })
        .def_property_readonly("weight", [](const KernelSpec &s) { return to_string(s.weight); })
        .def_property_readonly("save", [](const KernelSpec &s) { return to_string(s.save); })
        .def_property_readonly("counts", [](const KernelSpec &s) { return s.counts; })
        .def_property_readonly("dtype", [](const KernelSpec &s) { return to_string(s.dtype); });

    m.def("parse_spec", [](const std::string &text) { return parse_spec(text); }, py::arg("text"),
          "Parses and validates a spec; raises reluforge.Error (code 'bad_spec') naming what is wrong.");
    m.def("canonical", [](const std::string &text) { return to_string(parse_spec(text)); }, py::arg("text"),
          "The canonical text of a spec.");
    m.def("signature", &signature, py::arg("spec"),
          "The tensors a spec's kernel takes, in call order: name, output, dtype, shape, mask.");
    m.def("run_kernel", &run, py::arg("spec"), py::arg("tensors"),
          "Runs spec's kernel on tensors (objects with __dlpack__ or the buffer protocol, no copies): a list "
          "in signature order (None for an optional tensor not given) or a dict by argument name.");
    m.def(
        "find_kernel",
        [](py::handle spec, std::int64_t m_, std::int64_t n, std::int64_t k, const std::string &device) {
            const KernelSpec s = spec_of(spec);
            ensure_jit();
            return describe_kernel(find_kernel(s, Shape{m_, n, k}, device_of(device)));
        },
        py::arg("spec"), py::arg("m") = 0, py::arg("n") = 0, py::arg("k") = 0, py::arg("device") = "cpu",
        "Which kernel a call of shape m x k -> n runs: spec, device, isa, variant (shape rule), source "
        "('aot' or 'jit').");
    m.def("default_save", [](const std::string &act) { return to_string(default_save(parse_activation(act))); },
          py::arg("activation"), "What a layer of this activation saves for backward: none, mask or z.");
    // Without the GIL: it waits for kernel calls on other threads, which run without it too.
    m.def("set_num_threads", &set_num_threads, py::arg("n"), py::call_guard<py::gil_scoped_release>(),
          "Threads each kernel call uses (0: one per core); waits for kernel calls on other threads.");
    m.def("num_threads", &num_threads);
    m.def("mask_bytes_per_row", &mask_bytes_per_row, py::arg("cols"));
    m.def("mask_row_bytes", &mask_row_bytes, py::arg("cols"),
          "Bytes between mask rows (a multiple of 64): allocate [rows, mask_row_bytes(cols)] uint8 and pass "
          "its first mask_bytes_per_row(cols) columns.");
    m.def("mask_bit_byte", &mask_bit_byte, py::arg("col"), "The byte of a mask row that holds column col's bit.");
    m.def("mask_bit_shift", &mask_bit_shift, py::arg("col"), "Which bit of that byte (0 is the lowest) is column col's.");
    m.def("packed_weight_shape", [](std::int64_t k, std::int64_t n) { return py::make_tuple(packed_weight_rows(n), packed_weight_cols(k)); },
          py::arg("k"), py::arg("n"), "The shape a packed W of K inputs and N outputs takes: (ceil(N/16), 16K).");
    m.def(
        "pack_weights",
        [](py::handle w, const std::string &layout, py::handle packed) {
            if (layout != "kn" && layout != "nk") {
                throw Error(ErrorCode::bad_argument, fmt::format("bad argument: layout '{}' is not kn or nk", layout));
            }
            const python::HeldTensor from = python::tensor_from_python(w, "w", false);
            const python::HeldTensor to = python::tensor_from_python(packed, "packed", true);
            pack_weights(from.view, layout == "kn" ? WeightLayout::kn : WeightLayout::nk, to.view);
        },
        py::arg("w"), py::arg("layout"), py::arg("packed"),
        "Packs w ([K,N] for 'kn', [N,K] for 'nk') into packed, an array of packed_weight_shape(K, N) and w's "
        "dtype, for forward kernels with weight=packed.");
    m.def("host_isa", [] { return to_string(host_isa()); });
    m.def(
        "set_kernel_policy",
        [](const std::string &p) {
            if (p == "aot_only") set_kernel_policy(KernelPolicy::aot_only);
            else if (p == "jit_allowed") set_kernel_policy(KernelPolicy::jit_allowed);
            else if (p == "jit_only") set_kernel_policy(KernelPolicy::jit_only);
            else throw Error(ErrorCode::bad_argument, fmt::format("kernel policy '{}' is not one of aot_only, jit_allowed, jit_only", p));
        },
        py::arg("policy"));
    m.def("kernel_policy", [] { return to_string(kernel_policy()); });

    py::module_ j = m.def_submodule("jit", "The JIT: kernels compiled on first use and kept in a disk cache.");
    j.def("enable", &enable_jit, py::arg("cache_dir") = py::none(), py::arg("cache_cap_mb") = py::none(),
          py::arg("disk_cache") = true, py::arg("quiet") = false, py::arg("tuning_db") = py::none(),
          "Starts the JIT with these options (default: $RELUFORGE_CACHE_DIR or ~/.cache/reluforge, "
          "$RELUFORGE_TUNING_DB); call it before the first kernel, which otherwise starts it with the defaults.");
    j.def("stats", &jit_stats, "Kernels compiled, loaded from the disk cache, found in memory; {} before the JIT starts.");
}
