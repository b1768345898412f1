// Bar building: time, tick, volume and range bars, one tick at a time.
//
// Conventions (docs/signals.md):
// - a bar's `ts` is its open time in UTC ns: the interval start for time bars
//   (floor(ts / interval) * interval, aligned to the Unix epoch), the first tick's
//   time for tick, volume and range bars;
// - the tick that reaches a threshold (count, volume, range) belongs to the bar it
//   completes; a time bar completes when the first tick of a later interval arrives;
// - a change of session id always completes the current bar; empty intervals
//   (gaps, closed market) produce no bar;
// - a time bar opened by a session change inside the interval of the bar it closed
//   is stamped with its first tick's time, not the interval start, so the two
//   halves of a split interval have distinct `ts` (both still in that interval);
// - volume is split by aggressor: ask_volume = buys (lifted the ask), bid_volume =
//   sells (hit the bid); unknown-side volume counts only in `volume`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>

#include "tickbridge/signals/common.hpp"

namespace tickbridge::signals {

struct Bar {
    std::int64_t ts;  // bar open time, UTC ns
    double open;
    double high;
    double low;
    double close;
    double volume;
    std::int64_t trade_count;
    double bid_volume;  // volume of sells (aggressor hit the bid)
    double ask_volume;  // volume of buys (aggressor lifted the ask)
};

enum class BarKind : std::uint8_t { time = 0, tick = 1, volume = 2, range = 3 };

class BarBuilder {
public:
    // interval_ns for time bars; trades per bar for tick bars; volume per bar; price range.
    static BarBuilder time(std::int64_t interval_ns);
    static BarBuilder ticks(std::int64_t trades_per_bar);
    static BarBuilder volume(double volume_per_bar);
    static BarBuilder range(double price_range);

    BarKind kind() const noexcept { return kind_; }
    // Interval in ns (time bars) or trades per bar (tick bars).
    std::int64_t interval() const noexcept { return interval_; }
    // True before the first update(): the batch fast path may start from scratch.
    bool fresh() const noexcept { return !started_ && !open_; }

    // Feed one trade; calls emit(const Bar&) for each bar it completes (at most two:
    // a session change closes the open bar, and the new tick may complete its own).
    template <class Emit>
    void update(std::int64_t ts, double price, double volume, std::uint8_t side,
                std::int64_t session, Emit&& emit) {
        require_finite(price, "price");
        require_non_negative(volume, "volume");
        require_side(side);
        if (started_ && ts < last_ts_) [[unlikely]] throw_ts_backwards(ts, last_ts_);
        started_ = true;
        last_ts_ = ts;

        std::int64_t bar_ts = ts;
        if (kind_ == BarKind::time) {
            if (open_ && ts - bar_start_ < interval_) {
                bar_ts = bar_start_;  // still inside the open bar: no division per tick
            } else {
                std::int64_t q = ts / interval_;
                if (ts % interval_ < 0) --q;  // floor division for times before 1970
                bar_ts = q * interval_;
            }
        }
        const bool session_change = open_ && session != session_;
        // A session change inside the open bar's interval: the new bar takes its first
        // tick's time as ts (the split rule above).
        const bool split = session_change && kind_ == BarKind::time && bar_ts == bar_start_;
        if (open_ && (session_change || (kind_ == BarKind::time && bar_ts != bar_start_))) {
            emit(bar_);
            open_ = false;
        }
        if (!open_) {
            bar_start_ = bar_ts;
            bar_ = Bar{split ? ts : bar_ts, price, price, price, price, 0.0, 0, 0.0, 0.0};
            session_ = session;
            open_ = true;
        } else {
            // max/min and the selects below compile without branches: prices and
            // aggressor sides are random tick to tick, so branches would mispredict.
            bar_.high = std::max(bar_.high, price);
            bar_.low = std::min(bar_.low, price);
            bar_.close = price;
        }
        bar_.volume += volume;
        bar_.trade_count += 1;
        bar_.ask_volume += side == static_cast<std::uint8_t>(Side::buy) ? volume : 0.0;
        bar_.bid_volume += side == static_cast<std::uint8_t>(Side::sell) ? volume : 0.0;
        if (threshold_reached()) {
            emit(bar_);
            open_ = false;
        }
    }

    // The bar being built, if any (not yet complete).
    std::optional<Bar> current() const {
        return open_ ? std::optional<Bar>(bar_) : std::nullopt;
    }

    // Complete the open bar (end of data) and return it.
    std::optional<Bar> flush() {
        if (!open_) return std::nullopt;
        open_ = false;
        return bar_;
    }

private:
    BarBuilder(BarKind kind, std::int64_t interval, double threshold)
        : kind_(kind), interval_(interval), threshold_(threshold) {}

    bool threshold_reached() const noexcept {
        switch (kind_) {
            case BarKind::time: return false;
            case BarKind::tick: return bar_.trade_count >= interval_;
            case BarKind::volume: return bar_.volume >= threshold_;
            case BarKind::range: return bar_.high - bar_.low >= threshold_;
        }
        return false;
    }

    BarKind kind_;
    std::int64_t interval_;  // ns for time bars, trades for tick bars
    double threshold_;       // volume or range
    Bar bar_{};
    std::int64_t bar_start_ = 0;  // interval start of the open time bar (bar_.ts may differ)
    bool open_ = false;
    bool started_ = false;
    std::int64_t last_ts_ = 0;
    std::int64_t session_ = 0;
};

}  // namespace tickbridge::signals
