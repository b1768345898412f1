// Order-flow features, one tick at a time.
#pragma once

#include <cstdint>

#include "tickbridge/signals/common.hpp"

namespace tickbridge::signals {

// Cumulative delta: running sum of buy volume minus sell volume (unknown side adds
// nothing), restarted when the session id changes.
class CumulativeDelta {
public:
    double update(double volume, std::uint8_t side, std::int64_t session) {
        require_non_negative(volume, "volume");
        require_side(side);
        if (!started_ || session != session_) {
            started_ = true;
            session_ = session;
            delta_ = 0.0;
        }
        // A select, not a branch: the aggressor side is random tick to tick.
        const double sign = side == static_cast<std::uint8_t>(Side::buy)    ? 1.0
                            : side == static_cast<std::uint8_t>(Side::sell) ? -1.0
                                                                            : 0.0;
        delta_ += sign * volume;
        return delta_;
    }

private:
    bool started_ = false;
    std::int64_t session_ = 0;
    double delta_ = 0.0;
};

// Best bid/ask size imbalance in [-1, 1]: (bid_size - ask_size) / (bid_size + ask_size);
// NaN when both sizes are zero. Positive means more resting size on the bid.
class BookImbalance {
public:
    double update(double bid_size, double ask_size) const {
        require_non_negative(bid_size, "bid_size");
        require_non_negative(ask_size, "ask_size");
        const double total = bid_size + ask_size;
        return total > 0.0 ? (bid_size - ask_size) / total : kNaN;
    }
};

// Trade-through: a trade printed outside the best bid/ask prevailing when it traded.
// +1 above the ask, -1 below the bid, 0 inside or at the quote, and 0 when the quote
// is unknown (bid or ask <= 0, as in .scid records written without a quote) or
// crossed (bid > ask: a stale side, nothing to trade through).
class TradeThrough {
public:
    std::int8_t update(double price, double bid, double ask) const {
        require_finite(price, "price");
        require_finite(bid, "bid");
        require_finite(ask, "ask");
        if (bid <= 0.0 || ask <= 0.0 || bid > ask) return 0;
        if (price > ask) return 1;
        if (price < bid) return -1;
        return 0;
    }
};

}  // namespace tickbridge::signals
