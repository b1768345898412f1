// Python glue for the engine's compiled tick path (MarketCore).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "errors.hpp"
#include "tickbridge/engine/market_core.hpp"

namespace py = pybind11;
using namespace tickbridge::engine;

namespace {

// The core plus a reused result, so ingesting a frame allocates nothing in C++.
struct PyMarketCore {
    MarketCore core;
    IngestResult result;
};

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

void bind_engine(py::module_& root) {
    auto m = root.def_submodule("engine", "the engine's compiled tick path");
    m.def("trading_day", &trading_day, py::arg("time_ns"));
    py::class_<PyMarketCore>(m, "MarketCore")
        .def(py::init([](std::int64_t bar_interval_ns, std::int64_t ema_fast, std::int64_t ema_slow,
                         double vwap_band_mult) {
                 return PyMarketCore{MarketCore(SignalConfig{bar_interval_ns, ema_fast, ema_slow,
                                                             vwap_band_mult}),
                                     {}};
             }),
             py::arg("bar_interval_ns") = 60'000'000'000, py::arg("ema_fast") = 9,
             py::arg("ema_slow") = 21, py::arg("vwap_band_mult") = 2.0)
        .def("add_session", [](PyMarketCore& self) { return self.core.add_session(); })
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
        .def("state", [](const PyMarketCore& self, std::uint32_t slot) { return state_dict(self.core.state(slot)); })
        .def_property_readonly("instrument_count", [](const PyMarketCore& self) { return self.core.instrument_count(); })
        // ingest(session, frame) -> ((session_id, sequence, send_time_ns, record_count),
        //   [(record_type, offset)], [event tuples], (trades, quotes, depth,
        //   unknown_instrument, out_of_order, bad_values)); raises ProtocolError.
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
            const auto& r = self.result;
            py::list others;
            for (const auto& o : r.others) others.append(py::make_tuple(static_cast<int>(o.type), o.offset));
            py::list events;
            for (const auto& e : r.events) events.append(event_tuple(e, self.core));
            return py::make_tuple(
                py::make_tuple(r.header.session_id, r.header.sequence, r.header.send_time_ns,
                               r.header.record_count),
                others, events,
                py::make_tuple(r.trades, r.quotes, r.depth, r.unknown_instrument, r.out_of_order,
                               r.bad_values));
        });
}
