// Python glue for the risk gate (tickbridge._core.risk): classes, enums and a batch check
// over numpy arrays for the benchmark. No logic here: it lives in cpp/src/risk.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

#include "named_tuples.hpp"
#include "strict_arrays.hpp"
#include "tickbridge/orders/order_book.hpp"
#include "tickbridge/risk/gate.hpp"

namespace py = pybind11;
using namespace tickbridge;
using namespace tickbridge::risk;

namespace {

// Exactly the dtype the gate reads, C-contiguous: a float quantity is refused, not cast.
template <class T>
py::array_t<T, py::array::c_style> contiguous(const py::handle& obj, const char* name) {
    return tickbridge::strict::column<T>(obj, "check_batch", name);
}

py::object check_batch(RiskGate& gate, const py::handle& account_ids, const py::handle& instrument_ids,
                      const py::handle& sides, const py::handle& order_types, const py::handle& qtys,
                      const py::handle& prices, const py::handle& now_ns, bool session_open, bool commit) {
    auto acc = contiguous<std::uint32_t>(account_ids, "account_ids");
    auto ins = contiguous<std::uint32_t>(instrument_ids, "instrument_ids");
    auto sid = contiguous<std::uint8_t>(sides, "sides");
    auto typ = contiguous<std::uint8_t>(order_types, "order_types");
    auto qty = contiguous<std::int64_t>(qtys, "qtys");
    auto prc = contiguous<double>(prices, "prices");
    auto now = contiguous<std::int64_t>(now_ns, "now_ns");
    const auto n = acc.size();
    if (ins.size() != n || sid.size() != n || typ.size() != n || qty.size() != n || prc.size() != n ||
        now.size() != n)
        throw std::invalid_argument("check_batch: every array must have the same length");
    py::array_t<std::uint8_t> reasons(n);
    py::array_t<double> out_prices(n);
    auto r = reasons.mutable_unchecked<1>();
    auto p = out_prices.mutable_unchecked<1>();
    const auto* a = acc.data();
    const auto* i = ins.data();
    const auto* s = sid.data();
    const auto* t = typ.data();
    const auto* q = qty.data();
    const auto* x = prc.data();
    const auto* w = now.data();
    // The GIL stays held: the gate is not thread-safe and another Python thread may use it.
    for (py::ssize_t k = 0; k < n; ++k) {
        Order order{a[k], i[k], static_cast<Side>(s[k]), static_cast<OrderType>(t[k]), q[k], x[k]};
        double price = 0.0;
        r(k) = static_cast<std::uint8_t>(gate.check_fast(order, w[k], session_open, commit, price));
        p(k) = price;
    }
    static PyObject* result = tickbridge::named::make_class("BatchDecisions", "reasons prices");
    return tickbridge::named::make(result, reasons, out_prices);
}

}  // namespace

void bind_risk(py::module_& root) {
    auto m = root.def_submodule("risk", "pre-trade risk gate (cpp/include/tickbridge/risk/gate.hpp)");

    py::enum_<RiskReason>(m, "RiskReason")
        .value("OK", RiskReason::Ok)
        .value("INVALID_ORDER", RiskReason::InvalidOrder)
        .value("NOT_ALLOWED", RiskReason::NotAllowed)
        .value("SESSION_CLOSED", RiskReason::SessionClosed)
        .value("TRADING_HALTED", RiskReason::TradingHalted)
        .value("REDUCING_ONLY", RiskReason::ReducingOnly)
        .value("DAILY_LOSS", RiskReason::DailyLoss)
        .value("MAX_ORDER_SIZE", RiskReason::MaxOrderSize)
        .value("OFF_TICK", RiskReason::OffTick)
        .value("STALE_MARKET_DATA", RiskReason::StaleMarketData)
        .value("PRICE_BAND", RiskReason::PriceBand)
        .value("POSITION_LIMIT", RiskReason::PositionLimit)
        .value("ACCOUNT_POSITION_LIMIT", RiskReason::AccountPositionLimit)
        .value("RATE_LIMIT", RiskReason::RateLimit);
    py::enum_<TradingState>(m, "TradingState")
        .value("ACTIVE", TradingState::Active)
        .value("REDUCING_ONLY", TradingState::ReducingOnly)
        .value("HALTED", TradingState::Halted);
    py::enum_<TickPolicy>(m, "TickPolicy")
        .value("REJECT", TickPolicy::Reject)
        .value("ROUND_PASSIVE", TickPolicy::RoundPassive);
    py::enum_<BandBasis>(m, "BandBasis").value("LAST_TRADE", BandBasis::LastTrade).value("MID", BandBasis::Mid);
    py::enum_<BandUnit>(m, "BandUnit").value("TICKS", BandUnit::Ticks).value("PERCENT", BandUnit::Percent);

    py::class_<InstrumentLimits>(m, "InstrumentLimits")
        .def(py::init<>())
        .def_readwrite("symbol", &InstrumentLimits::symbol)
        .def_readwrite("tick_size", &InstrumentLimits::tick_size)
        .def_readwrite("point_value", &InstrumentLimits::point_value)
        .def_readwrite("max_order_qty", &InstrumentLimits::max_order_qty)
        .def_readwrite("max_position", &InstrumentLimits::max_position)
        .def_readwrite("band_basis", &InstrumentLimits::band_basis)
        .def_readwrite("band_unit", &InstrumentLimits::band_unit)
        .def_readwrite("band_width", &InstrumentLimits::band_width)
        .def_readwrite("max_data_age_ns", &InstrumentLimits::max_data_age_ns)
        .def_readwrite("tick_policy", &InstrumentLimits::tick_policy);
    py::class_<AccountLimits>(m, "AccountLimits")
        .def(py::init<>())
        .def_readwrite("account", &AccountLimits::account)
        .def_readwrite("max_position", &AccountLimits::max_position)
        .def_readwrite("daily_loss_limit", &AccountLimits::daily_loss_limit)
        .def_readwrite("on_daily_loss", &AccountLimits::on_daily_loss)
        .def_readwrite("max_orders_per_second", &AccountLimits::max_orders_per_second)
        .def_readwrite("max_orders_per_minute", &AccountLimits::max_orders_per_minute)
        .def_readwrite("max_orders_per_hour", &AccountLimits::max_orders_per_hour)
        .def_readwrite("allowed_instruments", &AccountLimits::allowed_instruments);
    py::class_<Order>(m, "Order")
        .def(py::init([](std::uint32_t account_id, std::uint32_t instrument_id, int side, int order_type,
                         std::int64_t qty, double price) {
                 return Order{account_id, instrument_id, static_cast<Side>(side),
                              static_cast<OrderType>(order_type), qty, price};
             }),
             py::arg("account_id"), py::arg("instrument_id"), py::arg("side"), py::arg("order_type"),
             py::arg("qty"), py::arg("price") = 0.0);
    py::class_<Decision>(m, "Decision")
        .def_readonly("reason", &Decision::reason)
        .def_readonly("price", &Decision::price)
        .def_readonly("message", &Decision::message)
        .def_property_readonly("ok", &Decision::ok)
        .def("__repr__", [](const Decision& d) {
            return std::string("Decision(") + to_string(d.reason) + ", " + std::to_string(d.price) + ", '" +
                   d.message + "')";
        });
    py::class_<PositionBook>(m, "PositionBook")
        .def_readonly("position", &PositionBook::position)
        .def_readonly("avg_price", &PositionBook::avg_price)
        .def_readonly("realized_pnl", &PositionBook::realized_pnl)
        .def_readonly("working_buy", &PositionBook::working_buy)
        .def_readonly("working_sell", &PositionBook::working_sell);

    py::class_<RiskGate>(m, "RiskGate")
        .def(py::init<>())
        .def("add_instrument", &RiskGate::add_instrument)
        .def("add_account", &RiskGate::add_account)
        .def("replace_instrument_limits", &RiskGate::replace_instrument_limits)
        .def("replace_account_limits", &RiskGate::replace_account_limits)
        .def("check", &RiskGate::check, py::arg("order"), py::arg("now_ns"), py::arg("session_open"),
             py::arg("commit") = true)
        .def("check_batch", &check_batch, py::arg("account_ids"), py::arg("instrument_ids"), py::arg("sides"),
             py::arg("order_types"), py::arg("qtys"), py::arg("prices"), py::arg("now_ns"),
             py::arg("session_open"), py::arg("commit") = false)
        .def("on_trade", &RiskGate::on_trade)
        .def("on_quote", &RiskGate::on_quote)
        .def("on_fill", [](RiskGate& g, std::uint32_t a, std::uint32_t i, int side, std::int64_t qty,
                           double price) { g.on_fill(a, i, static_cast<Side>(side), qty, price); },
             "A standalone gate's fill (booked into its own position book); with a position book "
             "attached, a RuntimeError: book it there and release_working() its quantity.")
        .def("release_working", [](RiskGate& g, std::uint32_t a, std::uint32_t i, int side, std::int64_t qty) {
            g.release_working(a, i, static_cast<Side>(side), qty);
        })
        .def("on_order_done", [](RiskGate& g, std::uint32_t a, std::uint32_t i, int side, std::int64_t qty) {
            g.on_order_done(a, i, static_cast<Side>(side), qty);
        })
        .def("attach_positions",
             [](RiskGate& g, const tickbridge::orders::OrderBook& book) { g.attach_positions(book.positions()); },
             py::arg("order_book"), py::keep_alive<1, 2>(),
             "Read positions from this OrderBook's position book (the one fills are booked into).")
        .def_property_readonly("positions_attached", &RiskGate::positions_attached)
        .def("alias_instrument", &RiskGate::alias_instrument, py::arg("symbol"), py::arg("instrument_id"),
             "A position-book symbol (a platform's) that is this instrument.")
        .def("mark_day_start", &RiskGate::mark_day_start)
        .def("set_working", &RiskGate::set_working)
        .def("note_sent", &RiskGate::note_sent)
        .def("set_trading_state", &RiskGate::set_trading_state)
        .def("trading_state", &RiskGate::trading_state)
        .def("set_account_state", &RiskGate::set_account_state)
        .def("account_state", &RiskGate::account_state)
        .def("effective_state", &RiskGate::effective_state)
        .def("loss_breached", &RiskGate::loss_breached)
        .def("account_pnl", &RiskGate::account_pnl)
        .def("evaluate_loss", &RiskGate::evaluate_loss)
        .def("start_new_day", &RiskGate::start_new_day)
        .def("book", &RiskGate::book, py::return_value_policy::copy)
        .def_property_readonly("instrument_count", &RiskGate::instrument_count)
        .def_property_readonly("account_count", &RiskGate::account_count);
}
