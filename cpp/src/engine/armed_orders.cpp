// MarketCore's armed orders: arming, and the fire on the tick path (armed_orders.hpp).
#include <chrono>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "tickbridge/engine/market_core.hpp"
#include "tickbridge/orders/order_book.hpp"
#include "tickbridge/risk/gate.hpp"

namespace tickbridge::engine {

namespace {

std::int64_t wall_now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double or_zero(double v) noexcept { return std::isnan(v) ? 0.0 : v; }

}  // namespace

void MarketCore::attach(orders::OrderBook* book, risk::RiskGate* gate) noexcept {
    book_ = book;
    gate_ = gate;
}

std::uint32_t MarketCore::arm(std::uint32_t slot, double level, bool above, ArmedOrder order) {
    if (order.session >= session_maps_.size())
        throw std::invalid_argument("arm: unknown session slot " + std::to_string(order.session));
    if (order.quantity <= 0)
        throw std::invalid_argument("arm: quantity must be positive, not " +
                                    std::to_string(order.quantity));
    const std::uint32_t id = add_trigger(slot, level, above);
    armed_.emplace(id, std::move(order));
    return id;
}

bool MarketCore::disarm(std::uint32_t trigger_id) {
    if (armed_.erase(trigger_id) == 0) return false;
    for (auto& in : instruments_)
        std::erase_if(in.triggers, [&](const Trigger& t) { return t.id == trigger_id; });
    return true;
}

void MarketCore::set_session_enabled(std::uint32_t session, bool enabled) {
    if (session >= session_maps_.size())
        throw std::out_of_range("unknown engine session slot " + std::to_string(session));
    session_enabled_[session] = enabled;
}

// The trigger `trigger_id` of an armed order fired on `trade`; it is disarmed (one-shot).
void MarketCore::fire(std::uint32_t trigger_id, const Instrument& in, const protocol::Trade& trade,
                      IngestResult& out) {
    auto node = armed_.extract(trigger_id);
    FiredOrder fired;
    fired.trigger_id = trigger_id;
    fired.trade_time_ns = trade.time_ns;
    fired.trade_price = trade.price;
    place(node.mapped(), in.tick.market, trade.time_ns, fired, out);
    out.fired.push_back(fired);
}

void MarketCore::place(const ArmedOrder& a, const MarketState& m, std::int64_t market_now_ns,
                       FiredOrder& fired, IngestResult& out) {
    fired.session = a.session;
    fired.outcome = FireOutcome::Deferred;
    const std::int64_t wall = wall_now_ns();
    const std::int64_t now = a.market_clock ? market_now_ns : wall;
    const bool decidable = book_ != nullptr && a.checked && session_enabled_[a.session] &&
                           a.open_from_ns <= now && now < a.open_until_ns;
    if (!decidable) return;
    double price = a.price;
    if (gate_ != nullptr) {
        // The gate's reference prices, as the Python path syncs them at check time.
        gate_->on_trade(a.risk_instrument, m.last_price, m.last_time_ns);
        if (m.quotes > 0 && std::isfinite(m.bid) && std::isfinite(m.ask))
            gate_->on_quote(a.risk_instrument, m.bid, m.ask, m.quote_time_ns);
        risk::Order order{a.risk_account, a.risk_instrument, a.side, a.order_type, a.quantity,
                          std::isnan(a.price) ? m.last_price : a.price};
        double checked_price = 0.0;
        const auto reason = gate_->check_fast(order, now, /*session_open=*/true, /*commit=*/true,
                                              checked_price);
        if (reason != risk::RiskReason::Ok) {
            fired.outcome = FireOutcome::Refused;
            fired.risk_reason = static_cast<std::uint8_t>(reason);
            return;
        }
        if (!std::isnan(a.price)) price = checked_price;
    }
    std::uint64_t coid = 0;
    try {
        coid = book_->new_order({.account = a.account, .instrument = a.symbol, .side = a.side,
                                 .order_type = a.order_type, .time_in_force = a.time_in_force,
                                 .qty = a.quantity, .price = price, .stop_price = a.stop_price,
                                 .ts = wall, .client_order_id = std::nullopt})
                   .client_order_id;
    } catch (const std::invalid_argument&) {
        if (gate_ != nullptr)  // the reservation the check made is given back
            gate_->on_order_done(a.risk_account, a.risk_instrument, a.side, a.quantity);
        return;  // Deferred: Python's path says why, in words
    }
    book_->apply(coid, orders::EventInput{orders::OrderEvent::SubmitSent, 0, 0.0, 0, wall});
    protocol::Submit submit{};
    submit.header.type = static_cast<std::uint16_t>(protocol::RecordType::Submit);
    submit.header.length = sizeof(protocol::Submit);
    submit.header.instrument_id = a.instrument_id;
    submit.request_id = take_request_id();
    submit.client_order_id = coid;
    submit.price = or_zero(price);
    submit.stop_price = or_zero(a.stop_price);
    submit.quantity = a.quantity;
    submit.side = static_cast<std::uint8_t>(a.side);
    submit.order_type = static_cast<std::uint8_t>(a.order_type);
    submit.time_in_force = static_cast<std::uint8_t>(a.time_in_force);
    const auto* bytes = reinterpret_cast<const std::byte*>(&submit);
    out.submits.insert(out.submits.end(), bytes, bytes + sizeof submit);
    fired.outcome = FireOutcome::Sent;
    fired.client_order_id = coid;
    fired.request_id = submit.request_id;
    fired.price = price;
    fired.ts = wall;
}

}  // namespace tickbridge::engine
