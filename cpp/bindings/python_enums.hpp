// One Python definition of the shared enums: Side, OrderType, TimeInForce and OrderStatus
// cross the boundary as the IntEnum classes of tickbridge.protocol.enums (not as
// pybind11 enums of their own), so tickbridge.orders.Side.BUY is
// tickbridge.protocol.Side.BUY. Every binding that converts one of these types includes
// this header (a type caster must be the same in every translation unit).
//
// The classes are looked up on first use, not at import of _core: tickbridge.protocol
// imports _core itself. Members are cached per value, so converting one costs an
// incref, not a call of the enum class.
#pragma once

#include <pybind11/pybind11.h>

#include <array>
#include <string>

#include "tickbridge/enums.hpp"

namespace tickbridge::pyenum {

template <typename E>
struct Meta;
template <>
struct Meta<Side> {
    static constexpr const char* name = "Side";
    static constexpr int low = 1, high = 2;
};
template <>
struct Meta<OrderType> {
    static constexpr const char* name = "OrderType";
    static constexpr int low = 1, high = 4;
};
template <>
struct Meta<TimeInForce> {
    static constexpr const char* name = "TimeInForce";
    static constexpr int low = 1, high = 4;
};
template <>
struct Meta<OrderStatus> {
    static constexpr const char* name = "OrderStatus";
    static constexpr int low = 1, high = 11;
};

// The class, held for the life of the process (never released: no teardown order issue).
template <typename E>
PyObject* enum_class() {
    static PyObject* cls = [] {
        namespace py = pybind11;
        py::object cls = py::module_::import("tickbridge.protocol.enums").attr(Meta<E>::name);
        return cls.release().ptr();
    }();
    return cls;
}

template <typename E>
PyObject* member(E value) {
    static std::array<PyObject*, 16> members{};
    const int v = static_cast<int>(value);
    if (v < Meta<E>::low || v > Meta<E>::high) {
        throw pybind11::value_error(std::to_string(v) + " is not a valid " + Meta<E>::name);
    }
    PyObject*& m = members[static_cast<std::size_t>(v)];
    if (m == nullptr) {
        m = PyObject_CallFunction(enum_class<E>(), "i", v);
        if (m == nullptr) throw pybind11::error_already_set();
    }
    return m;
}

// A member of the class, or (when converting) a plain int in range. Anything else,
// e.g. a float or a Side given for an OrderType, does not match.
template <typename E>
bool load(pybind11::handle src, bool convert, E& out) {
    PyObject* obj = src.ptr();
    const int is = PyObject_IsInstance(obj, enum_class<E>());
    if (is < 0) {
        PyErr_Clear();
        return false;
    }
    if (is == 0 && !(convert && PyLong_CheckExact(obj))) return false;
    const long v = PyLong_AsLong(obj);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return false;
    }
    if (v < Meta<E>::low || v > Meta<E>::high) return false;
    out = static_cast<E>(v);
    return true;
}

}  // namespace tickbridge::pyenum

#define TICKBRIDGE_PYTHON_ENUM(Type, PyName)                                                 \
    namespace pybind11::detail {                                                            \
    template <>                                                                             \
    struct type_caster<Type> {                                                              \
        PYBIND11_TYPE_CASTER(Type, const_name(PyName));                                     \
        bool load(handle src, bool convert) {                                               \
            return tickbridge::pyenum::load(src, convert, value);                           \
        }                                                                                   \
        static handle cast(Type src, return_value_policy, handle) {                         \
            PyObject* m = tickbridge::pyenum::member(src);                                  \
            Py_INCREF(m);                                                                   \
            return m;                                                                       \
        }                                                                                   \
    };                                                                                      \
    }

TICKBRIDGE_PYTHON_ENUM(tickbridge::Side, "tickbridge.protocol.Side")
TICKBRIDGE_PYTHON_ENUM(tickbridge::OrderType, "tickbridge.protocol.OrderType")
TICKBRIDGE_PYTHON_ENUM(tickbridge::TimeInForce, "tickbridge.protocol.TimeInForce")
TICKBRIDGE_PYTHON_ENUM(tickbridge::OrderStatus, "tickbridge.protocol.OrderStatus")

#undef TICKBRIDGE_PYTHON_ENUM
