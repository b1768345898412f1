// tickbridge._core: the pybind11 module. Each layer binds itself in its own file;
// this file only wires them together and holds no logic.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_protocol(py::module_& m);
void bind_orders(py::module_& m);
void bind_signals(py::module_& m);
void bind_risk(py::module_& m);
void bind_engine(py::module_& m);

PYBIND11_MODULE(_core, m) {
    m.doc() = "tickbridge compiled core: wire protocol, order state machine, signal kernels";
    bind_protocol(m);
    bind_orders(m);
    bind_signals(m);
    bind_risk(m);
    bind_engine(m);
}
