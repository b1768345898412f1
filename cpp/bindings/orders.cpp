// Glue for the order state machine and position book (cpp/include/tickbridge/orders).
// No logic here: argument conversion, Python exceptions, and releasing the GIL.
// Side, OrderType, TimeInForce and OrderStatus are tickbridge.protocol's IntEnums
// (python_enums.hpp); _core.Side etc. resolve to them (the module's __getattr__ below).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <limits>
#include <string>

#include "named_tuples.hpp"
#include "python_enums.hpp"
#include "strict_arrays.hpp"
#include "tickbridge/orders/order_book.hpp"

namespace py = pybind11;
using namespace tickbridge;
using namespace tickbridge::orders;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A client order id from Python: the int, or its "TB..." text form.
ClientOrderId to_client_order_id(const py::handle& value) {
    if (py::isinstance<py::str>(value)) {
        const auto text = value.cast<std::string>();
        if (const auto id = parse_client_order_id(text)) return *id;
        throw py::value_error("client order id " + text +
                              " is not 'TB' followed by 16 hex digits");
    }
    return value.cast<ClientOrderId>();
}

std::uint64_t to_exec_id(const py::handle& value) {
    if (py::isinstance<py::str>(value)) return exec_id_key(value.cast<std::string>());
    return value.cast<std::uint64_t>();
}

// Unknown ids are a KeyError in Python (std::out_of_range would surface as IndexError).
ClientOrderId require_known(const OrderBook& book, const py::handle& value) {
    const ClientOrderId id = to_client_order_id(value);
    if (!book.contains(id)) {
        throw py::key_error("unknown client order id " + format_client_order_id(id) + " (" +
                            std::to_string(id) + ")");
    }
    return id;
}

void require_instrument(const OrderBook& book, const std::string& instrument) {
    if (!book.positions().has_instrument(instrument)) {
        throw py::key_error("instrument " + instrument +
                            " is not registered; call register_instrument() first");
    }
}


}  // namespace

void bind_orders(py::module_& m) {
    // The shared enums are defined once, in tickbridge.protocol.enums: looked up on first
    // use (tickbridge.protocol imports _core, so not at import time).
    m.def("__getattr__", [](const std::string& name) -> py::object {
        if (name == "Side" || name == "OrderType" || name == "TimeInForce" || name == "OrderStatus")
            return py::module_::import("tickbridge.protocol.enums").attr(name.c_str());
        throw py::attribute_error("module 'tickbridge._core' has no attribute '" + name + "'");
    });
    auto event = py::enum_<OrderEvent>(m, "OrderEvent");
    for (std::uint8_t e = 1; e <= kEventCount; ++e) {
        event.value(to_string(static_cast<OrderEvent>(e)), static_cast<OrderEvent>(e));
    }
    auto rule = py::enum_<NextRule>(m, "NextRule");
    for (auto r : {NextRule::Goto, NextRule::Stay, NextRule::ByFills,
                   NextRule::StayUnlessComplete, NextRule::Resume}) {
        rule.value(to_string(r), r);
    }
    py::enum_<Outcome>(m, "Outcome")
        .value("APPLIED", Outcome::Applied)
        .value("DUPLICATE", Outcome::Duplicate)
        .value("REFUSED", Outcome::Refused)
        .value("OVERFILL", Outcome::Overfill);

    m.def(
        "transition_table",
        [] {
            static PyObject* row = tickbridge::named::make_class("Transition", "state event rule to why");
            py::list rows;
            for (const auto& t : kTransitions) {
                py::object to = t.rule == NextRule::Goto ? py::cast(t.to) : py::none();
                rows.append(tickbridge::named::make(row, t.from, t.event, t.rule, to, t.why));
            }
            return rows;
        },
        "Every allowed Transition(state, event, rule, to, why); to is None unless rule is GOTO. "
        "Every pair not listed is refused.");
    m.def("is_terminal", &is_terminal, py::arg("status"));
    m.def("make_client_order_id", &make_client_order_id, py::arg("session_epoch"),
          py::arg("counter"));
    m.def("format_client_order_id", &format_client_order_id, py::arg("client_order_id"));
    m.def(
        "parse_client_order_id",
        [](const std::string& text) { return to_client_order_id(py::str(text)); },
        py::arg("text"), "'TB' + 16 hex digits -> int; ValueError otherwise.");
    m.def(
        "exec_id_key", [](const std::string& exec_id) { return exec_id_key(exec_id); },
        py::arg("exec_id"), "64-bit de-duplication key (FNV-1a) of a platform execution id.");

    py::enum_<Reason>(m, "Reason")
        .value("NONE", Reason::None)
        .value("NO_TRANSITION", Reason::NoTransition)
        .value("FILL_WITHOUT_EXEC_ID", Reason::FillWithoutExecId)
        .value("BAD_FILL", Reason::BadFill)
        .value("REPLACE_NOT_ABOVE_FILLED", Reason::ReplaceNotAboveFilled)
        .value("NO_REPLACE_PENDING", Reason::NoReplacePending)
        .value("UNKNOWN_ORDER", Reason::UnknownOrder)
        .value("UNKNOWN_EVENT", Reason::UnknownEvent)
        .value("OVERFILL", Reason::Overfill);

    py::class_<EventResult>(m, "EventResult")
        .def_readonly("outcome", &EventResult::outcome)
        .def_readonly("status", &EventResult::status)
        .def_readonly("reason", &EventResult::reason)
        .def("__repr__", [](const EventResult& r) {
            return std::string("EventResult(") +
                   py::str(py::cast(r.outcome)).cast<std::string>() + ", " +
                   to_string(r.status) + (r.reason.empty() ? "" : ", " + r.reason) + ")";
        });

    py::class_<HistoryEntry>(m, "HistoryEntry")
        .def_readonly("ts", &HistoryEntry::ts)
        .def_readonly("event", &HistoryEntry::event)
        .def_readonly("from_status", &HistoryEntry::from)
        .def_readonly("to_status", &HistoryEntry::to)
        .def_readonly("outcome", &HistoryEntry::outcome);

    py::class_<Fill>(m, "Fill")
        .def_readonly("exec_id", &Fill::exec_id)
        .def_readonly("qty", &Fill::qty)
        .def_readonly("price", &Fill::price)
        .def_readonly("ts", &Fill::ts)
        .def_readonly("overfill", &Fill::overfill);

    py::class_<Anomaly>(m, "Anomaly")
        .def_readonly("client_order_id", &Anomaly::client_order_id)
        .def_readonly("event", &Anomaly::event)
        .def_readonly("status", &Anomaly::status)
        .def_readonly("outcome", &Anomaly::outcome)
        .def_readonly("ts", &Anomaly::ts)
        .def_readonly("code", &Anomaly::reason)
        .def_property_readonly("reason", &describe)
        .def("__repr__", [](const Anomaly& a) { return "Anomaly(" + describe(a) + ")"; });

    py::class_<Order>(m, "Order")
        .def_readonly("client_order_id", &Order::client_order_id)
        .def_property_readonly("client_order_id_text",
                               [](const Order& o) { return format_client_order_id(o.client_order_id); })
        .def_readonly("account", &Order::account)
        .def_readonly("instrument", &Order::instrument)
        .def_readonly("side", &Order::side)
        .def_readonly("order_type", &Order::order_type)
        .def_readonly("time_in_force", &Order::time_in_force)
        .def_readonly("status", &Order::status)
        .def_readonly("qty", &Order::qty)
        .def_readonly("price", &Order::price)
        .def_readonly("stop_price", &Order::stop_price)
        .def_readonly("filled_qty", &Order::filled_qty)
        .def_property_readonly("leaves_qty", &Order::leaves_qty)
        .def_property_readonly("working_qty", &Order::working_qty)
        .def_property_readonly("avg_fill_price", &Order::avg_fill_price)
        .def_property_readonly("overfilled", &Order::overfilled)
        .def_readonly("overfill_qty", &Order::overfill_qty)
        .def_readonly("replace_pending", &Order::replace_pending)
        .def_readonly("pending_qty", &Order::pending_qty)
        .def_readonly("pending_price", &Order::pending_price)
        .def_readonly("refused_events", &Order::refused_events)
        .def_readonly("created_ts", &Order::created_ts)
        .def_readonly("updated_ts", &Order::updated_ts)
        .def_property_readonly("is_terminal", [](const Order& o) { return is_terminal(o.status); })
        .def("__repr__", [](const Order& o) {
            return "Order(" + format_client_order_id(o.client_order_id) + " " + o.account + " " +
                   o.instrument + " " + (o.side == Side::Buy ? "BUY " : "SELL ") +
                   std::to_string(o.qty) + " " + to_string(o.status) + " filled " +
                   std::to_string(o.filled_qty) + ")";
        });

    py::class_<Position>(m, "Position")
        .def_readonly("account", &Position::account)
        .def_readonly("instrument", &Position::instrument)
        .def_readonly("net_qty", &Position::net_qty)
        .def_readonly("avg_entry_price", &Position::avg_entry_price)
        .def_readonly("realized_pnl", &Position::realized_pnl)
        .def_readonly("realized_points", &Position::realized_points)
        .def_readonly("bought_qty", &Position::bought_qty)
        .def_readonly("sold_qty", &Position::sold_qty)
        .def("__repr__", [](const Position& p) {
            return "Position(" + p.account + " " + p.instrument + " net " +
                   std::to_string(p.net_qty) + " avg " + std::to_string(p.avg_entry_price) +
                   " realized " + std::to_string(p.realized_pnl) + ")";
        });

    py::class_<OrderBook>(m, "OrderBook")
        .def(py::init<std::uint32_t>(), py::arg("session_epoch"))
        .def_property_readonly("session_epoch", &OrderBook::session_epoch)
        .def(
            "register_instrument",
            [](OrderBook& b, const std::string& symbol, double point_value, double tick_size) {
                b.positions().register_instrument(symbol, point_value, tick_size);
            },
            py::arg("symbol"), py::arg("point_value"), py::arg("tick_size") = 0.0)
        .def(
            "new_order",
            [](OrderBook& b, const std::string& account, const std::string& instrument, Side side,
               std::int64_t qty, double price, OrderType order_type, TimeInForce tif,
               double stop_price, std::int64_t ts, const py::object& client_order_id) {
                NewOrderRequest r;
                r.account = account;
                r.instrument = instrument;
                r.side = side;
                r.qty = qty;
                r.price = price;
                r.order_type = order_type;
                r.time_in_force = tif;
                r.stop_price = stop_price;
                r.ts = ts;
                if (!client_order_id.is_none()) r.client_order_id = to_client_order_id(client_order_id);
                return b.new_order(r);  // copied out: a snapshot, not a live view
            },
            py::arg("account"), py::arg("instrument"), py::arg("side"), py::arg("qty"),
            py::arg("price") = kNaN, py::kw_only(), py::arg("order_type") = static_cast<int>(OrderType::Limit),
            py::arg("time_in_force") = static_cast<int>(TimeInForce::Day), py::arg("stop_price") = kNaN,
            py::arg("ts") = 0, py::arg("client_order_id") = py::none())
        .def(
            "apply",
            [](OrderBook& b, const py::object& id, OrderEvent e, std::int64_t qty, double price,
               const py::object& exec_id, std::int64_t ts) {
                return b.apply(require_known(b, id), {e, qty, price, to_exec_id(exec_id), ts});
            },
            py::arg("client_order_id"), py::arg("event"), py::kw_only(), py::arg("qty") = 0,
            py::arg("price") = 0.0, py::arg("exec_id") = 0, py::arg("ts") = 0)
        .def(
            "fill",
            [](OrderBook& b, const py::object& id, const py::object& exec_id, std::int64_t qty,
               double price, std::int64_t ts) {
                return b.apply(require_known(b, id),
                               {OrderEvent::Fill, qty, price, to_exec_id(exec_id), ts});
            },
            py::arg("client_order_id"), py::arg("exec_id"), py::arg("qty"), py::arg("price"),
            py::arg("ts") = 0)
        .def(
            "replace_sent",
            [](OrderBook& b, const py::object& id, std::int64_t qty, double price,
               std::int64_t ts) {
                return b.apply(require_known(b, id), {OrderEvent::ReplaceSent, qty, price, 0, ts});
            },
            py::arg("client_order_id"), py::arg("qty"), py::arg("price"), py::arg("ts") = 0)
        .def(
            "apply_events",
            [](OrderBook& b, const py::handle& event_, const py::handle& id_, const py::handle& qty_,
               const py::handle& price_, const py::handle& exec_id_, const py::handle& ts_) {
                constexpr const char* where = "apply_events";
                const auto event = tickbridge::strict::column<std::uint8_t>(event_, where, "event");
                const auto id = tickbridge::strict::column<std::uint64_t>(id_, where, "client_order_id");
                const auto qty = tickbridge::strict::column<std::int64_t>(qty_, where, "qty");
                const auto price = tickbridge::strict::column<double>(price_, where, "price");
                const auto exec_id = tickbridge::strict::column<std::uint64_t>(exec_id_, where, "exec_id");
                const auto ts = tickbridge::strict::column<std::int64_t>(ts_, where, "ts");
                const auto n = static_cast<std::size_t>(event.size());
                for (const auto size : {id.size(), qty.size(), price.size(), exec_id.size(),
                                        ts.size()}) {
                    if (static_cast<std::size_t>(size) != n) {
                        throw py::value_error("apply_events: all columns must have the " +
                                              std::to_string(n) + " rows of `event`, one has " +
                                              std::to_string(size));
                    }
                }
                py::array_t<std::uint8_t> outcome(static_cast<py::ssize_t>(n));
                std::uint8_t* out = outcome.mutable_data();
                {
                    py::gil_scoped_release release;
                    b.apply_batch(n, event.data(), id.data(), qty.data(), price.data(),
                                  exec_id.data(), ts.data(), out);
                }
                return outcome;
            },
            py::arg("event"), py::arg("client_order_id"), py::arg("qty"), py::arg("price"),
            py::arg("exec_id"), py::arg("ts"),
            "Apply many events from equal-length C-contiguous arrays of exactly uint8, uint64, "
            "int64, float64, uint64, int64 (nothing is cast: a float quantity is a TypeError "
            "naming the column); GIL released; returns the Outcome code per event as uint8. "
            "Unknown ids are refused and recorded, not raised.")
        .def("order",
             [](const OrderBook& b, const py::object& id) { return b.order(require_known(b, id)); },
             py::arg("client_order_id"))
        .def("__contains__",
             [](const OrderBook& b, const py::object& id) {
                 return b.contains(to_client_order_id(id));
             })
        .def("__len__", [](const OrderBook& b) { return b.orders().size(); })
        .def("orders", [](const OrderBook& b) { return b.orders(); })
        .def("history",
             [](const OrderBook& b, const py::object& id) { return b.history(require_known(b, id)); },
             py::arg("client_order_id"))
        .def("fills",
             [](const OrderBook& b, const py::object& id) { return b.fills(require_known(b, id)); },
             py::arg("client_order_id"))
        .def("anomalies", [](const OrderBook& b) { return b.anomalies(); })
        .def("drain_anomalies", &OrderBook::drain_anomalies)
        .def(
            "position",
            [](const OrderBook& b, const std::string& account, const std::string& instrument) {
                require_instrument(b, instrument);
                return b.positions().position(account, instrument);
            },
            py::arg("account"), py::arg("instrument"))
        .def("positions", [](const OrderBook& b) { return b.positions().positions(); })
        .def(
            "unrealized_pnl",
            [](const OrderBook& b, const std::string& account, const std::string& instrument,
               double mark_price) {
                require_instrument(b, instrument);
                return b.positions().unrealized_pnl(account, instrument, mark_price);
            },
            py::arg("account"), py::arg("instrument"), py::arg("mark_price"))
        .def("has_instrument",
             [](const OrderBook& b, const std::string& symbol) { return b.positions().has_instrument(symbol); },
             py::arg("symbol"))
        .def(
            "book_fill",
            [](OrderBook& b, const std::string& account, const std::string& instrument, Side side,
               std::int64_t qty, double price) {
                require_instrument(b, instrument);
                if (qty <= 0) throw py::value_error("book_fill: qty must be > 0, got " + std::to_string(qty));
                if (!std::isfinite(price))
                    throw py::value_error("book_fill: price must be finite, got " + std::to_string(price));
                auto& positions = b.positions();
                const auto slot = positions.position_slot(positions.account_id(account),
                                                          positions.instrument_id(instrument));
                positions.apply_fill(slot, side, qty, price);
            },
            py::arg("account"), py::arg("instrument"), py::arg("side"), py::arg("qty"), py::arg("price"),
            "Books a fill into the positions only (restart recovery: the stored fills in time order).")
        .def("reset_positions", [](OrderBook& b) { b.positions().reset(); },
             "Every position back to flat (recovery rebooks the stored fills after it).")
        .def("reserve", &OrderBook::reserve, py::arg("orders"), py::arg("fills"));
}
