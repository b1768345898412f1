#include "tickbridge/signals/bars.hpp"

#include <string>

namespace tickbridge::signals {

BarBuilder BarBuilder::time(std::int64_t interval_ns) {
    if (interval_ns <= 0) {
        throw std::invalid_argument("time bar interval_ns must be > 0, got " +
                                    std::to_string(interval_ns));
    }
    return BarBuilder(BarKind::time, interval_ns, 0.0);
}

BarBuilder BarBuilder::ticks(std::int64_t trades_per_bar) {
    if (trades_per_bar <= 0) {
        throw std::invalid_argument("tick bar trades_per_bar must be > 0, got " +
                                    std::to_string(trades_per_bar));
    }
    return BarBuilder(BarKind::tick, trades_per_bar, 0.0);
}

BarBuilder BarBuilder::volume(double volume_per_bar) {
    if (!std::isfinite(volume_per_bar) || volume_per_bar <= 0.0) {
        throw std::invalid_argument("volume bar volume_per_bar must be finite and > 0, got " +
                                    std::to_string(volume_per_bar));
    }
    return BarBuilder(BarKind::volume, 0, volume_per_bar);
}

BarBuilder BarBuilder::range(double price_range) {
    if (!std::isfinite(price_range) || price_range <= 0.0) {
        throw std::invalid_argument("range bar price_range must be finite and > 0, got " +
                                    std::to_string(price_range));
    }
    return BarBuilder(BarKind::range, 0, price_range);
}

}  // namespace tickbridge::signals
