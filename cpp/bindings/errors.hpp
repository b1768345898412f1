// tickbridge.protocol.errors.ProtocolError from C++ (shared by the bindings).
#pragma once

#include <pybind11/pybind11.h>

#include "tickbridge/protocol.hpp"

// The exception object, for a caller that hands it to Python rather than raising it.
inline pybind11::object protocol_error_object(const tickbridge::protocol::DecodeError& error) {
    namespace py = pybind11;
    const auto cls = py::module_::import("tickbridge.protocol.errors").attr("ProtocolError");
    return cls(static_cast<int>(error.code), error.offset, error.message);
}

[[noreturn]] inline void raise_protocol_error(const tickbridge::protocol::DecodeError& error) {
    const pybind11::object exc = protocol_error_object(error);
    PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
    throw pybind11::error_already_set();
}
