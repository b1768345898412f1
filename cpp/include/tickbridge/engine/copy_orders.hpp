// The trade copier's compiled path (docs/copier.md, "The compiled copy"): a leader
// account's Position record, as the tick path ingests it, brings each follower to its
// target with an order made, checked by the follower's gate and packed here, so the
// follower's Submit leaves before any Python runs. Python books it afterwards from the
// FiredOrder (copy != 0), exactly as it books an armed order's.
//
// Python owns every decision's inputs and refreshes them after each frame it handles
// (engine/copier_compiled.py): the follower's target for each leader position (its sizing,
// computed by Python, as a table: nothing of it is re-implemented here), what the follower
// holds (platform position plus its working position orders), the leader position last
// acted on, and whether the follower may be copied here at all (ready). Anything else
// (a leader position beyond the table, a follower not ready, a refusal by its gate) is
// left unsent here: the Python copier, which runs on the same Position record right after,
// does it and says why.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "tickbridge/engine/armed_orders.hpp"

namespace tickbridge::engine {

struct CopyFollower {
    std::uint32_t leader_session = 0;  // the MarketCore session slot of the leader's shim
    std::uint32_t leader_slot = 0;     // the leader's instrument (MarketCore slot)
    std::uint32_t follower_slot = 0;   // the follower's: its last trade prices a limit copy
    // Routing, gate ids, session window; side, quantity and price are set per copy.
    ArmedOrder order;
    // The follower's target position for leader positions -k..k (2k + 1 entries).
    std::vector<std::int64_t> targets;
    double limit_offset = std::numeric_limits<double>::quiet_NaN();  // NaN: market orders; else limits this far through the last
    double tick_size = 0.0;
    // Python's picture, refreshed after every frame it handles.
    bool ready = false;
    std::int64_t leader_position = 0;  // the leader position the follower was last sized to
    std::int64_t held = 0;             // the follower's position plus its working orders
};

}  // namespace tickbridge::engine
