// Python glue for the engine's compiled tick path (MarketCore).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "errors.hpp"
#include "market_core_glue.hpp"
#include "tickbridge/orders/order_book.hpp"
#include "tickbridge/risk/gate.hpp"

namespace py = pybind11;
using namespace tickbridge::engine;

namespace {

py::tuple fired_tuple(const FiredOrder& f) {
    return py::make_tuple(f.trigger_id, static_cast<int>(f.outcome), f.risk_reason, f.session,
                          f.client_order_id, f.request_id, f.price, f.ts, f.trade_time_ns,
                          f.trade_price);
}

py::tuple event_tuple(const SignalEvent& e, const MarketCore& core) {
    const auto& b = e.bar;
    return py::make_tuple(static_cast<int>(e.kind), e.slot, core.symbol(e.slot), e.trigger_id,
                          b.ts, b.open, b.high, b.low, b.close, b.volume, b.trade_count,
                          b.bid_volume, b.ask_volume, e.ema_fast, e.ema_slow, e.vwap, e.delta);
}

py::dict state_dict(const MarketState& m) {
    py::dict d;
    d["last_time_ns"] = m.last_time_ns;
    d["last_price"] = m.last_price;
    d["last_size"] = m.last_size;
    d["quote_time_ns"] = m.quote_time_ns;
    d["bid"] = m.bid;
    d["ask"] = m.ask;
    d["bid_size"] = m.bid_size;
    d["ask_size"] = m.ask_size;
    d["trades"] = m.trades;
    d["quotes"] = m.quotes;
    d["volume"] = m.volume;
    d["ema_fast"] = m.ema_fast;
    d["ema_slow"] = m.ema_slow;
    d["vwap"] = m.vwap;
    d["vwap_upper"] = m.vwap_upper;
    d["vwap_lower"] = m.vwap_lower;
    d["delta"] = m.delta;
    return d;
}

}  // namespace

py::tuple ingest_result_tuple(const PyMarketCore& self) {
    const auto& r = self.result;
    py::list others;
    for (const auto& o : r.others) others.append(py::make_tuple(static_cast<int>(o.type), o.offset));
    py::list events;
    for (const auto& e : r.events) events.append(event_tuple(e, self.core));
    py::list fired;
    for (const auto& f : r.fired) fired.append(fired_tuple(f));
    return py::make_tuple(
        py::make_tuple(r.header.session_id, r.header.sequence, r.header.send_time_ns,
                       r.header.record_count),
        others, events,
        py::make_tuple(r.trades, r.quotes, r.depth, r.unknown_instrument, r.out_of_order,
                       r.bad_values),
        fired,
        py::bytes(reinterpret_cast<const char*>(r.submits.data()), r.submits.size()));
}

void bind_frame_pump(py::module_& m);

void bind_engine(py::module_& root) {
    auto m = root.def_submodule("engine", "the engine's compiled tick path");
    m.def("trading_day", &trading_day, py::arg("time_ns"));
    py::class_<PyMarketCore>(m, "MarketCore")
        .def(py::init([](std::int64_t bar_interval_ns, std::int64_t ema_fast, std::int64_t ema_slow,
                         double vwap_band_mult) {
                 return PyMarketCore{MarketCore(SignalConfig{bar_interval_ns, ema_fast, ema_slow,
                                                             vwap_band_mult}),
                                     {}, py::none(), py::none()};
             }),
             py::arg("bar_interval_ns") = 60'000'000'000, py::arg("ema_fast") = 9,
             py::arg("ema_slow") = 21, py::arg("vwap_band_mult") = 2.0)
        .def("add_session", [](PyMarketCore& self) { return self.core.add_session(); })
        .def("release_session",
             [](PyMarketCore& self, std::uint32_t session) { self.core.release_session(session); },
             py::arg("session"))
        .def_property_readonly("session_count", [](const PyMarketCore& self) { return self.core.session_count(); })
        .def("define_instrument",
             [](PyMarketCore& self, std::uint32_t session, std::uint32_t instrument_id,
                const std::string& symbol) {
                 return self.core.define_instrument(session, instrument_id, symbol);
             },
             py::arg("session"), py::arg("instrument_id"), py::arg("symbol"))
        .def("slot_of", [](const PyMarketCore& self, const std::string& s) { return self.core.slot_of(s); })
        .def("symbol", [](const PyMarketCore& self, std::uint32_t slot) { return self.core.symbol(slot); })
        .def("add_trigger",
             [](PyMarketCore& self, std::uint32_t slot, double level, bool above) {
                 return self.core.add_trigger(slot, level, above);
             },
             py::arg("slot"), py::arg("level"), py::arg("above"))
        .def("clear_triggers", [](PyMarketCore& self, std::uint32_t slot) { self.core.clear_triggers(slot); })
        .def("attach",
             [](PyMarketCore& self, py::object book, py::object gate) {
                 auto* b = &book.cast<tickbridge::orders::OrderBook&>();
                 auto* g = gate.is_none() ? nullptr : &gate.cast<tickbridge::risk::RiskGate&>();
                 self.core.attach(b, g);
                 self.book = std::move(book);
                 self.gate = std::move(gate);
             },
             py::arg("book"), py::arg("gate") = py::none())
        .def("arm",
             [](PyMarketCore& self, std::uint32_t slot, double level, bool above,
                std::uint32_t session, std::uint32_t instrument_id, std::string account,
                std::string symbol, int side, int order_type, int time_in_force,
                std::int64_t quantity, double price, double stop_price, bool checked,
                std::uint32_t risk_account, std::uint32_t risk_instrument,
                std::int64_t open_from_ns, std::int64_t open_until_ns, bool market_clock) {
                 ArmedOrder a;
                 a.session = session;
                 a.instrument_id = instrument_id;
                 a.account = std::move(account);
                 a.symbol = std::move(symbol);
                 a.side = static_cast<tickbridge::Side>(side);
                 a.order_type = static_cast<tickbridge::OrderType>(order_type);
                 a.time_in_force = static_cast<tickbridge::TimeInForce>(time_in_force);
                 a.quantity = quantity;
                 a.price = price;
                 a.stop_price = stop_price;
                 a.checked = checked;
                 a.risk_account = risk_account;
                 a.risk_instrument = risk_instrument;
                 a.open_from_ns = open_from_ns;
                 a.open_until_ns = open_until_ns;
                 a.market_clock = market_clock;
                 return self.core.arm(slot, level, above, std::move(a));
             },
             py::arg("slot"), py::arg("level"), py::arg("above"), py::arg("session"), py::arg("instrument_id"), py::arg("account"),
             py::arg("symbol"), py::arg("side"), py::arg("order_type"),
             py::arg("time_in_force"), py::arg("quantity"), py::arg("price"),
             py::arg("stop_price"), py::arg("checked") = true, py::arg("risk_account") = 0,
             py::arg("risk_instrument") = 0,
             py::arg("open_from_ns") = std::numeric_limits<std::int64_t>::min(),
             py::arg("open_until_ns") = std::numeric_limits<std::int64_t>::max(),
             py::arg("market_clock") = false)
        .def("disarm", [](PyMarketCore& self, std::uint32_t id) { return self.core.disarm(id); })
        .def_property_readonly("armed_count", [](const PyMarketCore& self) { return self.core.armed_count(); })
        .def("set_session_enabled",
             [](PyMarketCore& self, std::uint32_t session, bool enabled) {
                 self.core.set_session_enabled(session, enabled);
             })
        .def("take_request_id", [](PyMarketCore& self) { return self.core.take_request_id(); })
        .def("state", [](const PyMarketCore& self, std::uint32_t slot) { return state_dict(self.core.state(slot)); })
        .def_property_readonly("instrument_count", [](const PyMarketCore& self) { return self.core.instrument_count(); })
        // ingest(session, frame) -> ((session_id, sequence, send_time_ns, record_count),
        //   [(record_type, offset)], [event tuples], (trades, quotes, depth,
        //   unknown_instrument, out_of_order, bad_values), [fired tuples], submits bytes);
        //   raises ProtocolError. A fired tuple: (trigger_id, outcome 0 sent / 1 deferred /
        //   2 refused, risk_reason, session, client_order_id, request_id, price, ts,
        //   trade_time_ns, trade_price); submits: the Sent ones' Submit records, packed.
        .def("ingest", [](PyMarketCore& self, std::uint32_t session, const py::buffer& buffer) {
            const auto info = buffer.request();
            const std::span<const std::byte> frame(static_cast<const std::byte*>(info.ptr),
                                                   static_cast<std::size_t>(info.size * info.itemsize));
            std::optional<tickbridge::protocol::DecodeError> error;
            {
                py::gil_scoped_release release;
                error = self.core.ingest(session, frame, self.result);
            }
            if (error) raise_protocol_error(*error);
            return ingest_result_tuple(self);
        })
        .def("next_tx_sequence",
             [](PyMarketCore& self, std::uint32_t session) { return self.core.next_tx_sequence(session); });
    bind_frame_pump(m);
}
