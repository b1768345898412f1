// Indicators, one tick (or one bar) at a time. Each class's update() is the only
// implementation: the batch functions in batch.hpp loop over it.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "tickbridge/signals/common.hpp"

namespace tickbridge::signals {

// Exponential moving average, seeded with the first price:
//   ema_0 = x_0,  ema_t = alpha * x_t + (1 - alpha) * ema_{t-1}.
// Written as alpha*x + decay*ema (not ema + alpha*(x - ema)) so the loop-carried
// dependency is one multiply and one add.
class Ema {
public:
    explicit Ema(double alpha);
    static Ema from_period(std::int64_t period);  // alpha = 2 / (period + 1)

    double update(double price) {
        require_finite(price, "price");
        if (!seeded_) {
            value_ = price;
            seeded_ = true;
        } else {
            value_ = alpha_ * price + decay_ * value_;
        }
        return value_;
    }
    double alpha() const noexcept { return alpha_; }
    double value() const noexcept { return seeded_ ? value_ : kNaN; }

private:
    double alpha_;
    double decay_;
    double value_ = 0.0;
    bool seeded_ = false;
};

// Simple moving average of the last `period` prices; NaN until `period` prices seen.
// The window sum is kept exactly as a running sum corrected by re-summing the window
// once per `period` updates, so rounding error cannot accumulate over a long run.
class Sma {
public:
    explicit Sma(std::int64_t period);

    double update(double price) {
        require_finite(price, "price");
        const std::size_t n = window_.size();
        if (count_ >= n) sum_ -= window_[head_];
        window_[head_] = price;
        sum_ += price;
        head_ = head_ + 1 == n ? 0 : head_ + 1;
        if (count_ < n) ++count_;
        if (head_ == 0) {  // once per full turn of the ring: drop accumulated rounding
            double exact = 0.0;
            for (std::size_t i = 0; i < count_; ++i) exact += window_[i];
            sum_ = exact;
        }
        return count_ == n ? sum_ / static_cast<double>(n) : kNaN;
    }

private:
    std::vector<double> window_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    double sum_ = 0.0;
};

struct VwapValue {
    double vwap;    // NaN until the session has traded volume
    double stddev;  // volume-weighted standard deviation of price about the VWAP
    double upper;   // vwap + band_mult * stddev
    double lower;   // vwap - band_mult * stddev
};

// Session-anchored VWAP with standard-deviation bands: all sums restart when the
// session id changes.
class SessionVwap {
public:
    explicit SessionVwap(double band_mult);

    VwapValue update(double price, double volume, std::int64_t session) {
        add(price, volume, session);
        return value();
    }

    // The state update alone: the engine's tick path adds every trade and reads the
    // bands only when someone asks (a bar close), sparing a sqrt per tick.
    void add(double price, double volume, std::int64_t session) {
        require_finite(price, "price");
        require_non_negative(volume, "volume");
        if (!started_ || session != session_) {
            started_ = true;
            session_ = session;
            sum_v_ = mean_ = m2_ = 0.0;
        }
        // West's weighted update of mean and sum of squared deviations: E[p^2] - vwap^2
        // would cancel catastrophically at futures prices (p^2 ~ 1e7, variance ~ 1).
        if (volume > 0.0) {
            sum_v_ += volume;
            const double delta = price - mean_;
            mean_ += delta * (volume / sum_v_);
            m2_ += volume * delta * (price - mean_);
        }
    }

    VwapValue value() const {
        if (sum_v_ <= 0.0) return VwapValue{kNaN, kNaN, kNaN, kNaN};
        const double variance = m2_ / sum_v_;
        const double stddev = variance > 0.0 ? std::sqrt(variance) : 0.0;
        return VwapValue{mean_, stddev, mean_ + band_mult_ * stddev, mean_ - band_mult_ * stddev};
    }

private:
    double band_mult_;
    bool started_ = false;
    std::int64_t session_ = 0;
    double sum_v_ = 0.0;
    double mean_ = 0.0;  // the VWAP
    double m2_ = 0.0;    // volume-weighted sum of squared deviations from it
};

// Average true range with Wilder's smoothing, over bars. True range of the first
// bar is high - low. ATR is NaN for the first period-1 bars, the mean of the first
// `period` true ranges at bar period-1, then atr = (atr * (period - 1) + tr) / period.
class Atr {
public:
    explicit Atr(std::int64_t period);

    double update(double high, double low, double close) {
        require_finite(high, "high");
        require_finite(low, "low");
        require_finite(close, "close");
        if (low > high) [[unlikely]] {
            throw_input_error("low", "is above high (" + std::to_string(low) + " > " +
                                         std::to_string(high) + ")");
        }
        double tr = high - low;
        if (has_prev_) {
            tr = std::fmax(tr, std::fabs(high - prev_close_));
            tr = std::fmax(tr, std::fabs(low - prev_close_));
        }
        has_prev_ = true;
        prev_close_ = close;
        ++count_;
        if (count_ < period_) {
            seed_sum_ += tr;
            return kNaN;
        }
        if (count_ == period_) {
            seed_sum_ += tr;
            atr_ = seed_sum_ / static_cast<double>(period_);
        } else {
            atr_ = (atr_ * static_cast<double>(period_ - 1) + tr) / static_cast<double>(period_);
        }
        return atr_;
    }

private:
    std::int64_t period_;
    std::int64_t count_ = 0;
    bool has_prev_ = false;
    double prev_close_ = 0.0;
    double seed_sum_ = 0.0;
    double atr_ = 0.0;
};

// Rolling realized volatility: sqrt of the sum of squared log returns over the last
// `period` returns (not annualized, not demeaned). NaN until `period` returns exist.
// Prices must be > 0.
class RealizedVol {
public:
    explicit RealizedVol(std::int64_t period);

    double update(double price) {
        require_finite(price, "price");
        if (price <= 0.0) [[unlikely]] {
            throw_input_error("price", "is not positive (" + std::to_string(price) +
                                           "); log returns need prices > 0");
        }
        if (!has_prev_) {
            has_prev_ = true;
            prev_ = price;
            return kNaN;
        }
        const double r = std::log(price / prev_);
        prev_ = price;
        const double sq = r * r;
        const std::size_t n = window_.size();
        if (count_ >= n) sum_ -= window_[head_];
        window_[head_] = sq;
        sum_ += sq;
        head_ = head_ + 1 == n ? 0 : head_ + 1;
        if (count_ < n) ++count_;
        if (head_ == 0) {  // re-sum once per turn, as Sma does
            double exact = 0.0;
            for (std::size_t i = 0; i < count_; ++i) exact += window_[i];
            sum_ = exact;
        }
        if (count_ < n) return kNaN;
        return sum_ > 0.0 ? std::sqrt(sum_) : 0.0;
    }

private:
    std::vector<double> window_;
    std::size_t head_ = 0;
    std::size_t count_ = 0;
    double sum_ = 0.0;
    bool has_prev_ = false;
    double prev_ = 0.0;
};

}  // namespace tickbridge::signals
