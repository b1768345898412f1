// Net position, average entry price and PnL per (account, instrument), from fills only.
//
// Rules (docs/orders.md): a fill in the direction of the position (or from flat) moves the
// average entry to the qty-weighted mean; a fill against it realizes
// closed_qty * (fill - avg) * point_value * sign(position) and leaves the average alone;
// a fill through zero closes the old position at the fill price and opens the rest at it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tickbridge/enums.hpp"

namespace tickbridge::orders {

struct Instrument {
    std::string symbol;
    double point_value = 1.0;  // currency per 1.0 of price per contract (ES: 50)
    double tick_size = 0.0;    // informational here; the risk gate checks prices against it
};

struct Position {
    std::string account;
    std::string instrument;
    std::uint32_t account_id = 0;
    std::uint32_t instrument_id = 0;
    std::int64_t net_qty = 0;      // signed: long > 0, short < 0
    double avg_entry_price = 0.0;  // 0 when flat
    double realized_pnl = 0.0;     // currency, point-value aware
    // The same without the point value (price points x contracts): what the risk gate
    // reads, with its own configured point value and its own day boundary.
    double realized_points = 0.0;
    std::int64_t bought_qty = 0;
    std::int64_t sold_qty = 0;

    double unrealized_pnl(double mark_price, double point_value) const noexcept {
        return net_qty == 0 ? 0.0
                            : static_cast<double>(net_qty) * (mark_price - avg_entry_price) *
                                  point_value;
    }
};

// Interns account and instrument names to small ids so the fill path never hashes strings.
class PositionBook {
public:
    std::uint32_t account_id(const std::string& account);
    // Registers or updates an instrument; point_value must be > 0.
    std::uint32_t register_instrument(const std::string& symbol, double point_value,
                                      double tick_size);
    // Id of a registered instrument; throws std::out_of_range naming it otherwise.
    std::uint32_t instrument_id(const std::string& symbol) const;
    bool has_instrument(const std::string& symbol) const;

    // Slot of the (account, instrument) position, created flat on first use.
    std::uint32_t position_slot(std::uint32_t account, std::uint32_t instrument);

    // Books one fill into a slot; qty > 0, side says the sign.
    void apply_fill(std::uint32_t slot, Side side, std::int64_t qty, double price) noexcept;

    // Every position back to flat, keeping the slots (restart recovery rebooks the stored
    // fills in time order).
    void reset() noexcept;

    const Position& at(std::uint32_t slot) const { return positions_.at(slot); }
    const std::vector<Position>& positions() const noexcept { return positions_; }
    const Instrument& instrument(std::uint32_t id) const { return instruments_.at(id); }
    const std::string& account_name(std::uint32_t id) const { return accounts_.at(id); }
    // The (account, instrument) position; flat when nothing was booked on it yet.
    // Throws std::out_of_range when the instrument is not registered.
    Position position(const std::string& account, const std::string& symbol) const;
    double unrealized_pnl(const std::string& account, const std::string& symbol,
                          double mark_price) const;

private:
    std::optional<std::uint32_t> find_slot(const std::string& account,
                                           const std::string& symbol) const;

    std::vector<std::string> accounts_;
    std::unordered_map<std::string, std::uint32_t> account_ids_;
    std::vector<Instrument> instruments_;
    std::unordered_map<std::string, std::uint32_t> instrument_ids_;
    std::vector<Position> positions_;
    std::unordered_map<std::uint64_t, std::uint32_t> slot_of_;  // (account << 32 | instrument)
};

}  // namespace tickbridge::orders
