// The MarketCore as Python holds it, shared by its binding (engine.cpp) and the compiled
// receive path (frame_pump.cpp), which ingest frames into the same core.
#pragma once

#include <pybind11/pybind11.h>

#include "tickbridge/engine/market_core.hpp"

// The core plus a reused result, so ingesting a frame allocates nothing in C++; and the
// Python objects of the book and gate it was attached to, kept alive as long as it is.
struct PyMarketCore {
    tickbridge::engine::MarketCore core;
    tickbridge::engine::IngestResult result;
    pybind11::object book;
    pybind11::object gate;
};

// MarketCore.ingest's answer as Python sees it: named, read-only (engine.Ingested).
// Lists that are empty (most frames: market data only) are one shared empty tuple.
struct PyIngested {
    tickbridge::protocol::FrameHeader header{};
    std::uint32_t trades = 0, quotes = 0, depth = 0, unknown_instrument = 0, out_of_order = 0,
                  bad_values = 0;
    pybind11::object others;  // [OtherRecord]
    pybind11::object events;  // [SignalEvent]
    pybind11::object fired;   // [FiredOrder]
    pybind11::bytes submits;  // the Sent fired orders' Submit records, packed
};

// A closed bar or a fired trigger, with the instrument's symbol (engine.SignalEvent).
struct PySignalEvent {
    tickbridge::engine::SignalEvent event;
    std::string symbol;
};

// The last ingest's result as Python sees it (what MarketCore.ingest returns).
pybind11::object ingest_result_object(const PyMarketCore& self);
