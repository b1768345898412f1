// Orders armed on a price trigger and sent from the tick path. When the trigger fires,
// the order book makes the order (SUBMIT_SENT) and the risk gate checks it, in C++, so
// the Submit record is ready before any Python runs; the engine sends it, then books the
// rest (pending command, store, audit, strategy callback) from the FiredOrder.
//
// What the tick path cannot decide is handed back unsent (Deferred) and the engine routes
// the order through its full checks in Python instead: the shim's session disabled (lost,
// refused at hello, or its account not ACTIVE), the exchange session window known at arm
// time has passed, no book attached, or an instrument the gate does not know.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "tickbridge/enums.hpp"

namespace tickbridge::engine {

struct ArmedOrder {
    std::uint32_t session = 0;        // the MarketCore session slot of the shim it goes to
    std::uint32_t instrument_id = 0;  // that shim's id for the instrument (the Submit's)
    std::string account;
    std::string symbol;  // the order book's instrument
    Side side = Side::Buy;
    OrderType order_type = OrderType::Limit;
    TimeInForce time_in_force = TimeInForce::Day;
    std::int64_t quantity = 0;
    double price = std::numeric_limits<double>::quiet_NaN();
    double stop_price = std::numeric_limits<double>::quiet_NaN();
    // The compiled gate's ids; `checked` false: no gate entry, always Deferred.
    bool checked = true;
    std::uint32_t risk_account = 0;
    std::uint32_t risk_instrument = 0;
    // The exchange session window [open_from_ns, open_until_ns) at arm time.
    std::int64_t open_from_ns = std::numeric_limits<std::int64_t>::min();
    std::int64_t open_until_ns = std::numeric_limits<std::int64_t>::max();
    bool market_clock = false;  // the gate's "now" is the trade's time (replays, the simulator)
};

enum class FireOutcome : std::uint8_t { Sent = 0, Deferred = 1, Refused = 2 };

struct FiredOrder {
    std::uint32_t trigger_id = 0;  // 0: a copier's order (copy_orders.hpp)
    std::uint32_t copy = 0;        // the CopyFollower that sent it, or 0
    FireOutcome outcome = FireOutcome::Sent;
    std::uint8_t risk_reason = 0;  // Refused: the gate's RiskReason
    std::uint32_t session = 0;
    std::uint64_t client_order_id = 0;  // Sent
    std::uint64_t request_id = 0;       // Sent
    double price = 0.0;                 // Sent: the Submit's price (the gate may round it)
    std::int64_t ts = 0;                // Sent: the order's creation time (wall clock)
    std::int64_t trade_time_ns = 0;     // the trade that fired it (a copy: the leader's Position)
    double trade_price = 0.0;           // a copy: the leader position it was sized to
};

}  // namespace tickbridge::engine
