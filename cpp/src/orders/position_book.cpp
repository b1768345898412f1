#include "tickbridge/orders/position_book.hpp"

#include <cmath>
#include <stdexcept>

namespace tickbridge::orders {

std::uint32_t PositionBook::account_id(const std::string& account) {
    if (const auto it = account_ids_.find(account); it != account_ids_.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(accounts_.size());
    accounts_.push_back(account);
    account_ids_.emplace(account, id);
    return id;
}

std::uint32_t PositionBook::register_instrument(const std::string& symbol, double point_value,
                                                double tick_size) {
    if (!(point_value > 0.0) || !std::isfinite(point_value)) {
        throw std::invalid_argument("instrument " + symbol + ": point_value must be > 0, got " +
                                    std::to_string(point_value));
    }
    if (!(tick_size >= 0.0) || !std::isfinite(tick_size)) {
        throw std::invalid_argument("instrument " + symbol + ": tick_size must be >= 0, got " +
                                    std::to_string(tick_size));
    }
    if (const auto it = instrument_ids_.find(symbol); it != instrument_ids_.end()) {
        instruments_[it->second].point_value = point_value;
        instruments_[it->second].tick_size = tick_size;
        return it->second;
    }
    const auto id = static_cast<std::uint32_t>(instruments_.size());
    instruments_.push_back({symbol, point_value, tick_size});
    instrument_ids_.emplace(symbol, id);
    return id;
}

std::uint32_t PositionBook::instrument_id(const std::string& symbol) const {
    const auto it = instrument_ids_.find(symbol);
    if (it == instrument_ids_.end()) {
        throw std::out_of_range("instrument " + symbol +
                                " is not registered; register_instrument() it with its point value");
    }
    return it->second;
}

bool PositionBook::has_instrument(const std::string& symbol) const {
    return instrument_ids_.count(symbol) != 0;
}

std::uint32_t PositionBook::position_slot(std::uint32_t account, std::uint32_t instrument) {
    const std::uint64_t key = (static_cast<std::uint64_t>(account) << 32) | instrument;
    if (const auto it = slot_of_.find(key); it != slot_of_.end()) return it->second;
    const auto slot = static_cast<std::uint32_t>(positions_.size());
    Position p;
    p.account = accounts_.at(account);
    p.instrument = instruments_.at(instrument).symbol;
    p.account_id = account;
    p.instrument_id = instrument;
    positions_.push_back(p);
    slot_of_.emplace(key, slot);
    return slot;
}

std::optional<std::uint32_t> PositionBook::find_slot(const std::string& account,
                                                     const std::string& symbol) const {
    const auto a = account_ids_.find(account);
    const auto i = instrument_ids_.find(symbol);
    if (a == account_ids_.end() || i == instrument_ids_.end()) return std::nullopt;
    const std::uint64_t key = (static_cast<std::uint64_t>(a->second) << 32) | i->second;
    if (const auto it = slot_of_.find(key); it != slot_of_.end()) return it->second;
    return std::nullopt;
}

Position PositionBook::position(const std::string& account, const std::string& symbol) const {
    const std::uint32_t instrument = instrument_id(symbol);  // throws when not registered
    if (const auto slot = find_slot(account, symbol)) return positions_[*slot];
    Position flat;
    flat.account = account;
    flat.instrument = symbol;
    flat.instrument_id = instrument;
    return flat;
}

double PositionBook::unrealized_pnl(const std::string& account, const std::string& symbol,
                                    double mark_price) const {
    const Position p = position(account, symbol);
    return p.unrealized_pnl(mark_price, instruments_[p.instrument_id].point_value);
}

void PositionBook::apply_fill(std::uint32_t slot, Side side, std::int64_t qty,
                              double price) noexcept {
    Position& p = positions_[slot];
    const double point_value = instruments_[p.instrument_id].point_value;
    const std::int64_t signed_qty = side == Side::Buy ? qty : -qty;
    if (side == Side::Buy) {
        p.bought_qty += qty;
    } else {
        p.sold_qty += qty;
    }
    const std::int64_t before = p.net_qty;
    const std::int64_t after = before + signed_qty;
    if (before == 0 || (before > 0) == (signed_qty > 0)) {
        // Opening or adding: the average entry is the qty-weighted mean.
        const auto held = static_cast<double>(before < 0 ? -before : before);
        const auto added = static_cast<double>(qty);
        p.avg_entry_price = (p.avg_entry_price * held + price * added) / (held + added);
    } else {
        // Reducing, closing or flipping: realize on the closed part at the old average.
        const std::int64_t held = before < 0 ? -before : before;
        const std::int64_t closed = qty < held ? qty : held;
        const double direction = before > 0 ? 1.0 : -1.0;
        const double points = static_cast<double>(closed) * (price - p.avg_entry_price) * direction;
        p.realized_points += points;
        p.realized_pnl += points * point_value;
        if (after == 0) {
            p.avg_entry_price = 0.0;
        } else if ((after > 0) != (before > 0)) {
            p.avg_entry_price = price;  // flipped through zero: the rest opened at this fill
        }
    }
    p.net_qty = after;
}

void PositionBook::reset() noexcept {
    for (auto& p : positions_) {
        p.net_qty = 0;
        p.avg_entry_price = 0.0;
        p.realized_pnl = 0.0;
        p.realized_points = 0.0;
        p.bought_qty = 0;
        p.sold_qty = 0;
    }
}

}  // namespace tickbridge::orders
