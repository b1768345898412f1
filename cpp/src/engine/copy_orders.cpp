// MarketCore's compiled copier: a leader's Position record to follower orders
// (copy_orders.hpp).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "tickbridge/engine/market_core.hpp"

namespace tickbridge::engine {

std::uint32_t MarketCore::add_copy(CopyFollower copy) {
    const auto check = [](const char* field, std::size_t value, std::size_t count) {
        if (value >= count)
            throw std::invalid_argument("add_copy: " + std::string(field) + " " +
                                        std::to_string(value) + " is unknown (" +
                                        std::to_string(count) + " defined)");
    };
    check("leader_session", copy.leader_session, session_maps_.size());
    check("session", copy.order.session, session_maps_.size());
    check("leader_slot", copy.leader_slot, instruments_.size());
    check("follower_slot", copy.follower_slot, instruments_.size());
    if (copy.targets.size() % 2 != 1)
        throw std::invalid_argument("add_copy: targets must cover -k..k (an odd count), not " +
                                    std::to_string(copy.targets.size()));
    if (!std::isnan(copy.limit_offset) && !(copy.tick_size > 0.0))
        throw std::invalid_argument("add_copy: a limit copy needs a positive tick size");
    copy.ready = false;  // until its first set_copy_state
    const std::uint32_t id = next_copy_++;
    copies_.emplace_back(id, std::move(copy));
    return id;
}

bool MarketCore::remove_copy(std::uint32_t id) {
    return std::erase_if(copies_, [id](const auto& c) { return c.first == id; }) > 0;
}

void MarketCore::set_copy_state(std::uint32_t id, bool ready, std::int64_t leader_position,
                                std::int64_t held) {
    const auto it = std::find_if(copies_.begin(), copies_.end(),
                                 [id](const auto& c) { return c.first == id; });
    if (it == copies_.end()) throw std::out_of_range("unknown copy id " + std::to_string(id));
    it->second.ready = ready;
    it->second.leader_position = leader_position;
    it->second.held = held;
}

// The leader's position on `slot` is `pos.quantity` now: each ready follower of it whose
// target differs from what it holds gets the difference, when its table, its session and
// its gate allow; what is not sent here is the Python copier's to do.
void MarketCore::copy_position(std::uint32_t session, std::uint32_t slot,
                               const protocol::Position& pos, IngestResult& out) {
    for (auto& [id, c] : copies_) {
        if (c.leader_session != session || c.leader_slot != slot) continue;
        const std::int64_t was = c.leader_position;
        c.leader_position = pos.quantity;
        if (!c.ready || was == pos.quantity) continue;  // a repeat is not a change to copy
        const auto k = static_cast<std::int64_t>(c.targets.size() / 2);
        if (pos.quantity < -k || pos.quantity > k) continue;
        const std::int64_t difference = c.targets[static_cast<std::size_t>(pos.quantity + k)] - c.held;
        if (difference == 0) continue;
        ArmedOrder& a = c.order;
        a.side = difference > 0 ? Side::Buy : Side::Sell;
        a.quantity = difference > 0 ? difference : -difference;
        a.order_type = OrderType::Market;
        a.price = kNaN;
        const MarketState& m = instruments_[c.follower_slot].tick.market;
        if (!std::isnan(c.limit_offset) && std::isfinite(m.last_price)) {
            // A marketable limit through the last trade, on the tick grid (the Python
            // copier's rule: round half to even, as Python's round()).
            const double through = difference > 0 ? c.limit_offset : -c.limit_offset;
            a.order_type = OrderType::Limit;
            a.price = std::nearbyint((m.last_price + through) / c.tick_size) * c.tick_size;
        }
        FiredOrder fired;
        fired.copy = id;
        fired.trade_time_ns = pos.time_ns;
        fired.trade_price = static_cast<double>(pos.quantity);
        // The market clock's "now" is the last trade's time, as the Python gate's is
        // (engine/risk.py: RiskAdapter.now), not the Position's stamp.
        place(a, m, m.last_time_ns, fired, out);
        if (fired.outcome != FireOutcome::Sent) continue;  // the Python copier's, with words
        c.held += difference;
        out.fired.push_back(fired);
    }
}

}  // namespace tickbridge::engine
