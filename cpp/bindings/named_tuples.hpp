// Small results that stay tuples for their callers (unpacking keeps working) but carry
// names: collections.namedtuple classes made once per kind and kept for the process.
// For per-frame results with many fields the bindings use classes instead (engine.cpp).
#pragma once

#include <pybind11/pybind11.h>

namespace tickbridge::named {

namespace py = pybind11;

// The namedtuple class `name` with space-separated `fields`; the first call per name makes
// it (the caller holds the static).
inline PyObject* make_class(const char* name, const char* fields) {
    py::object cls = py::module_::import("collections").attr("namedtuple")(name, fields);
    cls.attr("__module__") = "tickbridge._core";
    return cls.release().ptr();
}

template <typename... Args>
py::object make(PyObject* cls, Args&&... args) {
    return py::reinterpret_borrow<py::object>(cls)(std::forward<Args>(args)...);
}

}  // namespace tickbridge::named
