#include "tickbridge/signals/batch.hpp"

#include <string>

namespace tickbridge::signals {

namespace {

// Runs body(i) for every index, naming the index in any input error.
template <class Body>
void for_each_tick(std::size_t n, Body&& body) {
    std::size_t i = 0;
    try {
        for (; i < n; ++i) body(i);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("element " + std::to_string(i) + ": " + e.what());
    }
}

}  // namespace

std::vector<Bar> build_bars(BarBuilder builder, std::span<const std::int64_t> ts,
                            std::span<const double> price, std::span<const double> volume,
                            std::span<const std::uint8_t> side,
                            std::span<const std::int64_t> session) {
    std::vector<Bar> bars;
    auto emit = [&bars](const Bar& bar) { bars.push_back(bar); };
    const bool sessions = !session.empty();
    for_each_tick(ts.size(), [&](std::size_t i) {
        builder.update(ts[i], price[i], volume[i], side[i], sessions ? session[i] : 0, emit);
    });
    if (auto last = builder.flush()) bars.push_back(*last);
    return bars;
}

void ema_batch(double alpha, std::span<const double> price, std::span<double> out) {
    Ema ema(alpha);
    for_each_tick(price.size(), [&](std::size_t i) { out[i] = ema.update(price[i]); });
}

void sma_batch(std::int64_t period, std::span<const double> price, std::span<double> out) {
    Sma sma(period);
    for_each_tick(price.size(), [&](std::size_t i) { out[i] = sma.update(price[i]); });
}

void vwap_batch(double band_mult, std::span<const double> price, std::span<const double> volume,
                std::span<const std::int64_t> session, std::span<double> vwap,
                std::span<double> stddev, std::span<double> upper, std::span<double> lower) {
    SessionVwap kernel(band_mult);
    const bool sessions = !session.empty();
    for_each_tick(price.size(), [&](std::size_t i) {
        const VwapValue v = kernel.update(price[i], volume[i], sessions ? session[i] : 0);
        vwap[i] = v.vwap;
        stddev[i] = v.stddev;
        upper[i] = v.upper;
        lower[i] = v.lower;
    });
}

void atr_batch(std::int64_t period, std::span<const double> high, std::span<const double> low,
               std::span<const double> close, std::span<double> out) {
    Atr atr(period);
    for_each_tick(high.size(),
                  [&](std::size_t i) { out[i] = atr.update(high[i], low[i], close[i]); });
}

void realized_vol_batch(std::int64_t period, std::span<const double> price,
                        std::span<double> out) {
    RealizedVol vol(period);
    for_each_tick(price.size(), [&](std::size_t i) { out[i] = vol.update(price[i]); });
}

void cumulative_delta_batch(std::span<const double> volume, std::span<const std::uint8_t> side,
                            std::span<const std::int64_t> session, std::span<double> out) {
    CumulativeDelta delta;
    const bool sessions = !session.empty();
    for_each_tick(volume.size(), [&](std::size_t i) {
        out[i] = delta.update(volume[i], side[i], sessions ? session[i] : 0);
    });
}

void book_imbalance_batch(std::span<const double> bid_size, std::span<const double> ask_size,
                          std::span<double> out) {
    const BookImbalance imbalance;
    for_each_tick(bid_size.size(),
                  [&](std::size_t i) { out[i] = imbalance.update(bid_size[i], ask_size[i]); });
}

void trade_through_batch(std::span<const double> price, std::span<const double> bid,
                         std::span<const double> ask, std::span<std::int8_t> out) {
    const TradeThrough through;
    for_each_tick(price.size(),
                  [&](std::size_t i) { out[i] = through.update(price[i], bid[i], ask[i]); });
}

}  // namespace tickbridge::signals
