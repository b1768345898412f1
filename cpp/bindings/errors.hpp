// Raising tickbridge.protocol.errors.ProtocolError from C++ (shared by the bindings).
#pragma once

#include <pybind11/pybind11.h>

#include "tickbridge/protocol.hpp"

[[noreturn]] inline void raise_protocol_error(const tickbridge::protocol::DecodeError& error) {
    namespace py = pybind11;
    const auto cls = py::module_::import("tickbridge.protocol.errors").attr("ProtocolError");
    const py::object exc = cls(static_cast<int>(error.code), error.offset, error.message);
    PyErr_SetObject(cls.ptr(), exc.ptr());
    throw py::error_already_set();
}
