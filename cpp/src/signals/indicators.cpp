#include "tickbridge/signals/indicators.hpp"

#include <string>

namespace tickbridge::signals {

namespace {
std::size_t checked_period(std::int64_t period, const char* what) {
    if (period < 1) {
        throw std::invalid_argument(std::string(what) + " period must be >= 1, got " +
                                    std::to_string(period));
    }
    return static_cast<std::size_t>(period);
}
}  // namespace

Ema::Ema(double alpha) : alpha_(alpha), decay_(1.0 - alpha) {
    if (!(alpha > 0.0 && alpha <= 1.0)) {
        throw std::invalid_argument("ema alpha must be in (0, 1], got " + std::to_string(alpha));
    }
}

Ema Ema::from_period(std::int64_t period) {
    checked_period(period, "ema");
    return Ema(2.0 / (static_cast<double>(period) + 1.0));
}

Sma::Sma(std::int64_t period) : window_(checked_period(period, "sma"), 0.0) {}

SessionVwap::SessionVwap(double band_mult) : band_mult_(band_mult) {
    if (!std::isfinite(band_mult) || band_mult < 0.0) {
        throw std::invalid_argument("vwap band_mult must be finite and >= 0, got " +
                                    std::to_string(band_mult));
    }
}

Atr::Atr(std::int64_t period) : period_(static_cast<std::int64_t>(checked_period(period, "atr"))) {}

RealizedVol::RealizedVol(std::int64_t period)
    : window_(checked_period(period, "realized_vol"), 0.0) {}

}  // namespace tickbridge::signals
