// Python glue for the engine's compiled tick path (MarketCore).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "errors.hpp"
#include "market_core_glue.hpp"
#include "strict_arrays.hpp"
#include "tickbridge/orders/order_book.hpp"
#include "tickbridge/risk/gate.hpp"

namespace py = pybind11;
using namespace tickbridge::engine;

namespace {

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

py::object ingest_result_object(const PyMarketCore& self) {
    const auto& r = self.result;
    // One empty tuple for every empty list: a market-data frame allocates none.
    static const py::handle empty = py::tuple().release();
    PyIngested out;
    out.header = r.header;
    out.trades = r.trades;
    out.quotes = r.quotes;
    out.depth = r.depth;
    out.unknown_instrument = r.unknown_instrument;
    out.out_of_order = r.out_of_order;
    out.bad_values = r.bad_values;
    auto list_of = [](const auto& items, auto make) -> py::object {
        if (items.empty()) return py::reinterpret_borrow<py::object>(empty);
        py::list list(items.size());
        for (std::size_t i = 0; i < items.size(); ++i) list[i] = make(items[i]);
        return list;
    };
    out.others = list_of(r.others, [](const OtherRecord& o) { return py::cast(o); });
    out.events = list_of(r.events, [&](const SignalEvent& e) {
        return py::cast(PySignalEvent{e, self.core.symbol(e.slot)});
    });
    out.fired = list_of(r.fired, [](const FiredOrder& f) { return py::cast(f); });
    out.submits = py::bytes(reinterpret_cast<const char*>(r.submits.data()), r.submits.size());
    return py::cast(std::move(out));
}

namespace {

// The named structures MarketCore.ingest and FramePump.pump hand back.
void bind_results(py::module_& m) {
    py::class_<OtherRecord>(m, "OtherRecord",
                            "A record for Python (order event, hello, ...): its type and offset.")
        .def_property_readonly("type", [](const OtherRecord& o) { return static_cast<int>(o.type); })
        .def_readonly("offset", &OtherRecord::offset)
        .def("__repr__", [](const OtherRecord& o) {
            return "OtherRecord(type=" + std::to_string(static_cast<int>(o.type)) +
                   ", offset=" + std::to_string(o.offset) + ")";
        });
    py::class_<FiredOrder>(m, "FiredOrder",
                           "An armed order whose trigger fired: outcome 0 sent, 1 deferred to "
                           "Python, 2 refused (risk_reason says why).")
        .def_readonly("trigger_id", &FiredOrder::trigger_id)
        .def_readonly("copy", &FiredOrder::copy)
        .def_property_readonly("outcome", [](const FiredOrder& f) { return static_cast<int>(f.outcome); })
        .def_readonly("risk_reason", &FiredOrder::risk_reason)
        .def_readonly("session", &FiredOrder::session)
        .def_readonly("client_order_id", &FiredOrder::client_order_id)
        .def_readonly("request_id", &FiredOrder::request_id)
        .def_readonly("price", &FiredOrder::price)
        .def_readonly("ts", &FiredOrder::ts)
        .def_readonly("trade_time_ns", &FiredOrder::trade_time_ns)
        .def_readonly("trade_price", &FiredOrder::trade_price)
        .def("__repr__", [](const FiredOrder& f) {
            return "FiredOrder(trigger_id=" + std::to_string(f.trigger_id) +
                   ", outcome=" + std::to_string(static_cast<int>(f.outcome)) +
                   ", session=" + std::to_string(f.session) + ")";
        });
    using E = PySignalEvent;
    py::class_<E>(m, "SignalEvent", "A closed bar (kind 1) or a fired trigger (kind 2).")
        .def_property_readonly("kind", [](const E& e) { return static_cast<int>(e.event.kind); })
        .def_property_readonly("is_bar", [](const E& e) { return e.event.kind == EventKind::BarClosed; })
        .def_property_readonly("slot", [](const E& e) { return e.event.slot; })
        .def_readonly("symbol", &E::symbol)
        .def_property_readonly("trigger_id", [](const E& e) { return e.event.trigger_id; })
        .def_property_readonly("ts", [](const E& e) { return e.event.bar.ts; })
        .def_property_readonly("open", [](const E& e) { return e.event.bar.open; })
        .def_property_readonly("high", [](const E& e) { return e.event.bar.high; })
        .def_property_readonly("low", [](const E& e) { return e.event.bar.low; })
        .def_property_readonly("close", [](const E& e) { return e.event.bar.close; })
        .def_property_readonly("volume", [](const E& e) { return e.event.bar.volume; })
        .def_property_readonly("trade_count", [](const E& e) { return e.event.bar.trade_count; })
        .def_property_readonly("bid_volume", [](const E& e) { return e.event.bar.bid_volume; })
        .def_property_readonly("ask_volume", [](const E& e) { return e.event.bar.ask_volume; })
        .def_property_readonly("ema_fast", [](const E& e) { return e.event.ema_fast; })
        .def_property_readonly("ema_slow", [](const E& e) { return e.event.ema_slow; })
        .def_property_readonly("vwap", [](const E& e) { return e.event.vwap; })
        .def_property_readonly("delta", [](const E& e) { return e.event.delta; })
        .def("__repr__", [](const E& e) {
            return "SignalEvent(kind=" + std::to_string(static_cast<int>(e.event.kind)) + ", " +
                   e.symbol + ", ts=" + std::to_string(e.event.bar.ts) + ")";
        });
    using I = PyIngested;
    py::class_<I>(m, "Ingested", "What MarketCore.ingest did with one frame.")
        .def_property_readonly("session_id", [](const I& r) { return r.header.session_id; })
        .def_property_readonly("sequence", [](const I& r) { return r.header.sequence; })
        .def_property_readonly("send_time_ns", [](const I& r) { return r.header.send_time_ns; })
        .def_property_readonly("record_count", [](const I& r) { return r.header.record_count; })
        .def_readonly("others", &I::others)
        .def_readonly("events", &I::events)
        .def_readonly("fired", &I::fired)
        .def_readonly("submits", &I::submits)
        .def_readonly("trades", &I::trades)
        .def_readonly("quotes", &I::quotes)
        .def_readonly("depth", &I::depth)
        .def_readonly("unknown_instrument", &I::unknown_instrument)
        .def_readonly("out_of_order", &I::out_of_order)
        .def_readonly("bad_values", &I::bad_values)
        .def_property_readonly("ticks", [](const I& r) { return r.trades + r.quotes; })
        .def("__repr__", [](const I& r) {
            return "Ingested(session_id=" + std::to_string(r.header.session_id) +
                   ", sequence=" + std::to_string(r.header.sequence) +
                   ", trades=" + std::to_string(r.trades) + ", quotes=" + std::to_string(r.quotes) + ")";
        });
}

}  // namespace

void bind_frame_pump(py::module_& m);

void bind_engine(py::module_& root) {
    auto m = root.def_submodule("engine", "the engine's compiled tick path");
    bind_results(m);
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
                 // One position book: the gate reads the positions of the book the core
                 // books into (the engine's fills too), not a copy fed to it.
                 if (g != nullptr) {
                     g->attach_positions(b->positions());
                     py::detail::keep_alive_impl(gate, book);  // the gate reads the book's memory
                 }
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
        .def("add_copy",
             [](PyMarketCore& self, std::uint32_t leader_session, std::uint32_t leader_slot,
                std::uint32_t follower_slot, std::uint32_t session, std::uint32_t instrument_id,
                std::string account, std::string symbol, std::vector<std::int64_t> targets,
                double limit_offset, double tick_size, bool checked, std::uint32_t risk_account,
                std::uint32_t risk_instrument, std::int64_t open_from_ns,
                std::int64_t open_until_ns, bool market_clock) {
                 CopyFollower c;
                 c.leader_session = leader_session;
                 c.leader_slot = leader_slot;
                 c.follower_slot = follower_slot;
                 c.order.session = session;
                 c.order.instrument_id = instrument_id;
                 c.order.account = std::move(account);
                 c.order.symbol = std::move(symbol);
                 c.order.checked = checked;
                 c.order.risk_account = risk_account;
                 c.order.risk_instrument = risk_instrument;
                 c.order.open_from_ns = open_from_ns;
                 c.order.open_until_ns = open_until_ns;
                 c.order.market_clock = market_clock;
                 c.targets = std::move(targets);
                 c.limit_offset = limit_offset;
                 c.tick_size = tick_size;
                 return self.core.add_copy(std::move(c));
             },
             py::arg("leader_session"), py::arg("leader_slot"), py::arg("follower_slot"),
             py::arg("session"), py::arg("instrument_id"), py::arg("account"), py::arg("symbol"),
             py::arg("targets"), py::arg("limit_offset"), py::arg("tick_size"),
             py::arg("checked") = true, py::arg("risk_account") = 0, py::arg("risk_instrument") = 0,
             py::arg("open_from_ns") = std::numeric_limits<std::int64_t>::min(),
             py::arg("open_until_ns") = std::numeric_limits<std::int64_t>::max(),
             py::arg("market_clock") = false)
        .def("remove_copy", [](PyMarketCore& self, std::uint32_t id) { return self.core.remove_copy(id); })
        .def("set_copy_state",
             [](PyMarketCore& self, std::uint32_t id, bool ready, std::int64_t leader_position,
                std::int64_t held) { self.core.set_copy_state(id, ready, leader_position, held); },
             py::arg("id"), py::arg("ready"), py::arg("leader_position"), py::arg("held"))
        .def_property_readonly("copy_count", [](const PyMarketCore& self) { return self.core.copy_count(); })
        .def("take_request_id", [](PyMarketCore& self) { return self.core.take_request_id(); })
        .def("state", [](const PyMarketCore& self, std::uint32_t slot) { return state_dict(self.core.state(slot)); })
        .def_property_readonly("instrument_count", [](const PyMarketCore& self) { return self.core.instrument_count(); })
        // ingest(session, frame) -> Ingested (named, read-only); raises ProtocolError. The
        // frame must be a C-contiguous buffer (a strided view is a ValueError, not read
        // as if it were contiguous). Ingested.submits: the Sent fired orders' Submit
        // records, packed.
        .def("ingest", [](PyMarketCore& self, std::uint32_t session, const py::buffer& buffer) {
            const auto info = buffer.request();
            const auto frame = tickbridge::strict::bytes(info, "MarketCore.ingest");
            std::optional<tickbridge::protocol::DecodeError> error;
            {
                py::gil_scoped_release release;
                error = self.core.ingest(session, frame, self.result);
            }
            if (error) raise_protocol_error(*error);
            return ingest_result_object(self);
        })
        .def("next_tx_sequence",
             [](PyMarketCore& self, std::uint32_t session) { return self.core.next_tx_sequence(session); });
    bind_frame_pump(m);
}
