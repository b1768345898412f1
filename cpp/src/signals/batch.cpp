#include "tickbridge/signals/batch.hpp"

#include <limits>
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

std::int64_t floor_start(std::int64_t ts, std::int64_t interval) {
    std::int64_t q = ts / interval;
    if (ts % interval < 0) --q;  // floor division for times before 1970
    return q * interval;
}

struct BarSums {
    double high, low, volume, bid_volume, ask_volume;
    std::uint32_t flags;  // non-zero: some tick failed a check (found again by the caller)
};

// The ticks [i, j) of one bar: a loop with a known count and its running values in
// registers (in the caller's larger loop one sum was kept on the stack, a store and a
// reload per tick), every input check folded into one flag. The sums are added in tick
// order, as BarBuilder::update adds them, so the results are bit for bit the same.
[[gnu::noinline]] BarSums sum_bar(const std::int64_t* ts, const double* price,
                                  const double* volume, const std::uint8_t* side,
                                  std::size_t i, std::size_t j) {
    double high = price[i];
    double low = price[i];
    double vol = 0.0;
    double bid_vol = 0.0;
    double ask_vol = 0.0;
    std::uint32_t flags = 0;
    for (std::size_t k = i; k < j; ++k) {
        const double p = price[k];
        const double v = volume[k];
        const std::uint8_t s = side[k];
        const std::int64_t before = k > i ? ts[k - 1] : ts[k];
        flags |= static_cast<std::uint32_t>(!(p - p == 0.0)) |
                 static_cast<std::uint32_t>(!(v - v == 0.0)) |
                 static_cast<std::uint32_t>(v < 0.0) | static_cast<std::uint32_t>(s > 2) |
                 static_cast<std::uint32_t>(ts[k] < before);
        high = std::max(high, p);
        low = std::min(low, p);
        vol += v;
        ask_vol += s == static_cast<std::uint8_t>(Side::buy) ? v : 0.0;
        bid_vol += s == static_cast<std::uint8_t>(Side::sell) ? v : 0.0;
    }
    return BarSums{high, low, vol, bid_vol, ask_vol, flags};
}

// Time bars of a whole array: the same bars, bit for bit, as BarBuilder::update, but
// one bar at a time with its running values in registers, and the input checks folded
// into one flag per bar (no branch per check); a bar whose flag is set is scanned again
// with the streaming checks so the error names the same element and field.
std::vector<Bar> build_time_bars(std::int64_t interval, std::span<const std::int64_t> ts,
                                 std::span<const double> price,
                                 std::span<const double> volume,
                                 std::span<const std::uint8_t> side,
                                 std::span<const std::int64_t> session) {
    std::vector<Bar> bars;
    const std::size_t n = ts.size();
    const bool sessions = !session.empty();
    std::int64_t last_ts = n ? ts[0] : 0;
    std::int64_t prev_start = 0;
    std::int64_t prev_session = 0;
    std::size_t i = 0;
    while (i < n) {
        const std::int64_t t0 = ts[i];
        const std::int64_t start = floor_start(t0, interval);
        const std::int64_t end =
            start > std::numeric_limits<std::int64_t>::max() - interval
                ? std::numeric_limits<std::int64_t>::max()
                : start + interval;
        const std::int64_t sess = sessions ? session[i] : 0;
        const bool split = !bars.empty() && sess != prev_session && start == prev_start;
        // Where the bar ends: the first tick at or past the interval end, found by
        // galloping then bisecting (ts is sorted when valid; when it is not, the order
        // check below reports it), then cut at the first change of session.
        std::size_t j = i + 1;
        {
            std::size_t step = 1;
            std::size_t lo_idx = i;  // ts[lo_idx] < end
            while (j < n && ts[j] < end) {
                lo_idx = j;
                step *= 2;
                j = i + step < n ? i + step : n;
            }
            std::size_t hi_idx = j;  // n, or ts[hi_idx] >= end
            while (hi_idx - lo_idx > 1) {
                const std::size_t mid = lo_idx + (hi_idx - lo_idx) / 2;
                if (ts[mid] < end) lo_idx = mid; else hi_idx = mid;
            }
            j = hi_idx;
        }
        if (sessions) {
            for (std::size_t k = i + 1; k < j; ++k) {
                if (session[k] != sess) { j = k; break; }
            }
        }
        const BarSums sums = sum_bar(ts.data(), price.data(), volume.data(), side.data(), i, j);
        const double high = sums.high;
        const double low = sums.low;
        const double vol = sums.volume;
        const double bid_vol = sums.bid_volume;
        const double ask_vol = sums.ask_volume;
        const bool bad = t0 < last_ts || sums.flags != 0;
        const std::int64_t prev = ts[j - 1];
        if (bad) [[unlikely]] {
            std::int64_t before = last_ts;
            for (std::size_t k = i; k < j; ++k) {
                try {
                    require_finite(price[k], "price");
                    require_non_negative(volume[k], "volume");
                    require_side(side[k]);
                    if (ts[k] < before) throw_ts_backwards(ts[k], before);
                } catch (const std::invalid_argument& e) {
                    throw std::invalid_argument("element " + std::to_string(k) + ": " +
                                                e.what());
                }
                before = ts[k];
            }
        }
        bars.push_back(Bar{split ? t0 : start, price[i], high, low, price[j - 1], vol,
                           static_cast<std::int64_t>(j - i), bid_vol, ask_vol});
        prev_start = start;
        prev_session = sess;
        last_ts = prev;
        i = j;
    }
    return bars;
}

}  // namespace

std::vector<Bar> build_bars(BarBuilder builder, std::span<const std::int64_t> ts,
                            std::span<const double> price, std::span<const double> volume,
                            std::span<const std::uint8_t> side,
                            std::span<const std::int64_t> session) {
    if (builder.kind() == BarKind::time && builder.fresh()) {
        return build_time_bars(builder.interval(), ts, price, volume, side, session);
    }
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
