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

// The last ingest's result as Python sees it (the tuple MarketCore.ingest returns).
pybind11::tuple ingest_result_tuple(const PyMarketCore& self);
