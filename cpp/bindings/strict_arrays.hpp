// Strict inputs at the boundary: a numpy column of exactly the dtype the core reads, and
// a byte buffer that is C-contiguous. Nothing is cast or copied silently: a fill quantity
// of 2.9 in a float64 column is refused naming the column, never booked as 2.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstddef>
#include <span>
#include <string>

namespace tickbridge::strict {

namespace py = pybind11;

// A 1-D C-contiguous numpy array of dtype T (zero-copy). `where` names the call,
// `name` the argument: "apply_events: qty must have dtype int64, got float64".
template <class T>
py::array_t<T, py::array::c_style> column(const py::handle& obj, const char* where, const char* name) {
    const py::dtype want = py::dtype::of<T>();
    const std::string prefix = std::string(where) + ": " + name;
    if (!py::isinstance<py::array>(obj)) {
        throw py::type_error(prefix + " must be a 1-D numpy array of " + std::string(py::str(want)) +
                             ", got " + std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
    }
    auto arr = py::reinterpret_borrow<py::array>(obj);
    if (!arr.dtype().equal(want)) {
        throw py::type_error(prefix + " must have dtype " + std::string(py::str(want)) + ", got " +
                             std::string(py::str(arr.dtype())) + " (not cast: convert it explicitly)");
    }
    if (arr.ndim() != 1) {
        throw py::value_error(prefix + " must be 1-D, got " + std::to_string(arr.ndim()) + " dimensions");
    }
    if (!(arr.flags() & py::array::c_style)) {
        throw py::value_error(prefix + " must be C-contiguous (a strided view is not copied "
                              "silently: pass np.ascontiguousarray of it)");
    }
    return py::reinterpret_borrow<py::array_t<T, py::array::c_style>>(arr);
}

// The bytes of a buffer (bytes, bytearray, memoryview, numpy array) that is C-contiguous.
inline std::span<const std::byte> bytes(const py::buffer_info& info, const char* where) {
    py::ssize_t stride = info.itemsize;
    for (py::ssize_t d = info.ndim - 1; d >= 0; --d) {
        const auto i = static_cast<std::size_t>(d);
        if (info.shape[i] > 1 && info.strides[i] != stride) {
            throw py::value_error(std::string(where) +
                                  ": the frame buffer is not C-contiguous (stride " +
                                  std::to_string(info.strides[i]) + " in dimension " +
                                  std::to_string(d) + "); pass bytes(...) of it");
        }
        stride *= info.shape[i];
    }
    return {static_cast<const std::byte*>(info.ptr),
            static_cast<std::size_t>(info.size * info.itemsize)};
}

}  // namespace tickbridge::strict
