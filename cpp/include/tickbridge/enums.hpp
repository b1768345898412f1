// Enumerations shared by the wire protocol, the order state machine and the signals.
// Their numeric values are on the wire: never renumber, only append.
#pragma once

#include <cstdint>

namespace tickbridge {

enum class Side : std::uint8_t { Buy = 1, Sell = 2 };

// Aggressor side of a trade, as Sierra Chart's time and sales and NinjaTrader's
// OnMarketData (trade at ask = buyer aggressed) report it.
enum class Aggressor : std::uint8_t { Unknown = 0, Buy = 1, Sell = 2 };

enum class OrderType : std::uint8_t { Market = 1, Limit = 2, Stop = 3, StopLimit = 4 };

enum class TimeInForce : std::uint8_t { Day = 1, Gtc = 2, Ioc = 3, Fok = 4 };

// The order lifecycle of DESIGN.md. Shims report the platform's view with the same codes.
enum class OrderStatus : std::uint8_t {
    NewRequested = 1,
    Submitted = 2,
    Acknowledged = 3,
    Working = 4,
    PartiallyFilled = 5,
    Filled = 6,
    PendingCancel = 7,
    PendingReplace = 8,
    Canceled = 9,
    Rejected = 10,
    Expired = 11,
};

enum class Platform : std::uint8_t { SierraChart = 1, NinjaTrader = 2, Simulator = 3 };

// A platform's own connection (orders: its broker/trade service; prices: its data feed), as
// PlatformStatus reports it. Only Connected lets the engine route new orders to that shim.
enum class ConnectionState : std::uint8_t {
    Unknown = 0,
    Connected = 1,
    Connecting = 2,
    ConnectionLost = 3,
    Disconnected = 4,
};

}  // namespace tickbridge
