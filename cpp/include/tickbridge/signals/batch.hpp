// Batch kernels over whole arrays (research), each a loop over the streaming
// object's update() so batch and streaming cannot disagree. Pointers are raw views
// of caller-owned arrays (numpy buffers); nothing here touches Python, so callers
// may release the GIL around them. An input error is rethrown as
// std::invalid_argument prefixed with the element index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tickbridge/signals/bars.hpp"
#include "tickbridge/signals/indicators.hpp"
#include "tickbridge/signals/orderflow.hpp"

namespace tickbridge::signals {

// session may be empty (one session for all ticks). Includes the final, possibly
// incomplete bar (as flush() would return it).
std::vector<Bar> build_bars(BarBuilder builder, std::span<const std::int64_t> ts,
                            std::span<const double> price, std::span<const double> volume,
                            std::span<const std::uint8_t> side,
                            std::span<const std::int64_t> session);

void ema_batch(double alpha, std::span<const double> price, std::span<double> out);
void sma_batch(std::int64_t period, std::span<const double> price, std::span<double> out);
void vwap_batch(double band_mult, std::span<const double> price, std::span<const double> volume,
                std::span<const std::int64_t> session, std::span<double> vwap,
                std::span<double> stddev, std::span<double> upper, std::span<double> lower);
void atr_batch(std::int64_t period, std::span<const double> high, std::span<const double> low,
               std::span<const double> close, std::span<double> out);
void realized_vol_batch(std::int64_t period, std::span<const double> price,
                        std::span<double> out);
void cumulative_delta_batch(std::span<const double> volume, std::span<const std::uint8_t> side,
                            std::span<const std::int64_t> session, std::span<double> out);
void book_imbalance_batch(std::span<const double> bid_size, std::span<const double> ask_size,
                          std::span<double> out);
void trade_through_batch(std::span<const double> price, std::span<const double> bid,
                         std::span<const double> ask, std::span<std::int8_t> out);

}  // namespace tickbridge::signals
