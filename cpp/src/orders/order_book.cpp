#include "tickbridge/orders/order_book.hpp"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace tickbridge::orders {

namespace {

std::string order_tag(ClientOrderId id) { return "order " + format_client_order_id(id); }

OrderStatus next_status(const Transition& t, const Order& o) noexcept {
    const bool complete = o.filled_qty >= o.qty;
    switch (t.rule) {
        case NextRule::Goto: return t.to;
        case NextRule::Stay: return o.status;
        case NextRule::ByFills:
            return complete ? OrderStatus::Filled : OrderStatus::PartiallyFilled;
        case NextRule::StayUnlessComplete: return complete ? OrderStatus::Filled : o.status;
        case NextRule::Resume:
            if (complete) return OrderStatus::Filled;
            return o.filled_qty > 0 ? OrderStatus::PartiallyFilled : OrderStatus::Working;
    }
    return o.status;
}

bool valid_event(std::uint8_t code) noexcept { return code >= 1 && code <= kEventCount; }

}  // namespace

OrderBook::OrderBook(std::uint32_t session_epoch) : session_epoch_(session_epoch) {}

void OrderBook::reserve(std::size_t orders, std::size_t fills) {
    orders_.reserve(orders);
    history_.reserve(orders);
    fills_.reserve(orders);
    index_.reserve(orders);
    exec_owner_.reserve(fills);
}

const Order& OrderBook::new_order(const NewOrderRequest& request, bool* created) {
    if (created != nullptr) *created = false;
    if (request.client_order_id) {
        if (const auto it = index_.find(*request.client_order_id); it != index_.end()) {
            // A retried submit: same id, same order. Anything else is an engine bug.
            const Order& existing = orders_[it->second];
            const bool same =
                existing.side == request.side &&  // qty may differ: a replace changed it
                existing.instrument == request.instrument && existing.account == request.account;
            if (!same) {
                throw std::invalid_argument(
                    order_tag(existing.client_order_id) +
                    " already exists with a different account/instrument/side; a client "
                    "order id names one order only, make a new one");
            }
            return existing;
        }
    }
    if (request.qty <= 0) {
        throw std::invalid_argument("new order on " + request.instrument +
                                    ": qty must be > 0, got " + std::to_string(request.qty));
    }
    if (!positions_.has_instrument(request.instrument)) {
        throw std::invalid_argument("new order on " + request.instrument +
                                    ": instrument not registered; call register_instrument("
                                    "symbol, point_value, tick_size) first");
    }
    ClientOrderId id = 0;
    if (request.client_order_id) {
        id = *request.client_order_id;  // restored from the state store after a restart
    } else {
        if (next_counter_ == 0) {
            throw std::overflow_error("session epoch " + std::to_string(session_epoch_) +
                                      " ran out of client order ids; start a new session");
        }
        do {
            id = make_client_order_id(session_epoch_, next_counter_++);
        } while (index_.count(id) != 0 && next_counter_ != 0);
    }
    Order o;
    o.client_order_id = id;
    o.account = request.account;
    o.instrument = request.instrument;
    o.account_id = positions_.account_id(request.account);
    o.instrument_id = positions_.instrument_id(request.instrument);
    o.position_slot = positions_.position_slot(o.account_id, o.instrument_id);
    o.side = request.side;
    o.order_type = request.order_type;
    o.time_in_force = request.time_in_force;
    o.qty = request.qty;
    o.price = request.price;
    o.stop_price = request.stop_price;
    o.created_ts = request.ts;
    o.updated_ts = request.ts;
    index_.emplace(id, orders_.size());
    orders_.push_back(o);
    history_.emplace_back();
    fills_.emplace_back();
    if (created != nullptr) *created = true;
    return orders_.back();
}

std::size_t OrderBook::index_of(ClientOrderId id) const {
    const auto it = index_.find(id);
    if (it == index_.end()) {
        throw std::out_of_range("unknown client order id " + format_client_order_id(id) + " (" +
                                std::to_string(id) + ")");
    }
    return it->second;
}

const Order& OrderBook::order(ClientOrderId id) const { return orders_[index_of(id)]; }
const std::vector<HistoryEntry>& OrderBook::history(ClientOrderId id) const {
    return history_[index_of(id)];
}
const std::vector<Fill>& OrderBook::fills(ClientOrderId id) const { return fills_[index_of(id)]; }

std::vector<Anomaly> OrderBook::drain_anomalies() { return std::exchange(anomalies_, {}); }

void OrderBook::record(std::size_t index, const EventInput& event, OrderStatus from,
                       Outcome outcome) {
    Order& o = orders_[index];
    history_[index].push_back({event.ts, event.event, from, o.status, outcome});
    if (outcome == Outcome::Applied || outcome == Outcome::Overfill) o.updated_ts = event.ts;
}

Outcome OrderBook::refuse(std::size_t index, const EventInput& event, std::string reason,
                          std::string* reason_out) {
    Order& o = orders_[index];
    ++o.refused_events;
    std::string text = order_tag(o.client_order_id) + ": " + to_string(event.event) +
                       " refused in state " + to_string(o.status) + ": " + reason +
                       "; recorded, not applied";
    record(index, event, o.status, Outcome::Refused);
    if (reason_out != nullptr) *reason_out = text;
    anomalies_.push_back(
        {o.client_order_id, event.event, o.status, Outcome::Refused, event.ts, std::move(text)});
    return Outcome::Refused;
}

Outcome OrderBook::apply_to(std::size_t index, const EventInput& event, std::string* reason_out) {
    Order& o = orders_[index];
    const OrderStatus from = o.status;

    // De-duplication comes before the table: a redelivered fill is harmless in any state.
    if (event.event == OrderEvent::Fill) {
        if (event.exec_id == 0) {
            return refuse(index, event, "a fill without an execution id cannot be de-duplicated",
                          reason_out);
        }
        if (const auto it = exec_owner_.find(event.exec_id); it != exec_owner_.end()) {
            if (it->second == o.client_order_id) {
                record(index, event, from, Outcome::Duplicate);
                return Outcome::Duplicate;
            }
            return refuse(index, event,
                          "execution id " + std::to_string(event.exec_id) + " is already booked on " +
                              order_tag(it->second),
                          reason_out);
        }
        if (event.qty <= 0 || !std::isfinite(event.price)) {
            return refuse(index, event,
                          "fill qty must be > 0 and price finite, got qty " +
                              std::to_string(event.qty) + " price " + std::to_string(event.price),
                          reason_out);
        }
    }

    const Transition* t = find_transition(from, event.event);
    if (t == nullptr) return refuse(index, event, "no such transition in the table", reason_out);

    Outcome outcome = Outcome::Applied;
    switch (event.event) {
        case OrderEvent::Fill: {
            exec_owner_.emplace(event.exec_id, o.client_order_id);
            o.filled_qty += event.qty;
            o.fill_notional += static_cast<double>(event.qty) * event.price;
            const bool over = o.filled_qty > o.qty;
            fills_[index].push_back({event.exec_id, event.qty, event.price, event.ts, over});
            positions_.apply_fill(o.position_slot, o.side, event.qty, event.price);
            if (over) {
                o.overfill_qty = o.filled_qty - o.qty;
                outcome = Outcome::Overfill;
            }
            break;
        }
        case OrderEvent::ReplaceSent:
            // Replacing at or below the filled qty would leave nothing (or less than nothing)
            // to work: that is a cancel, or a bug. Refuse it.
            if (event.qty <= o.filled_qty) {
                return refuse(index, event,
                              "new qty " + std::to_string(event.qty) + " is not above the " +
                                  std::to_string(o.filled_qty) + " already filled",
                              reason_out);
            }
            o.replace_pending = true;
            o.pending_qty = event.qty;
            o.pending_price = event.price;
            break;
        case OrderEvent::Replaced:
            if (!o.replace_pending) {
                return refuse(index, event, "no replace is pending", reason_out);
            }
            o.qty = o.pending_qty;
            o.price = o.pending_price;
            o.replace_pending = false;
            if (o.filled_qty > o.qty) {  // fills raced the replace past the new qty
                o.overfill_qty = o.filled_qty - o.qty;
                outcome = Outcome::Overfill;
            }
            break;
        case OrderEvent::ReplaceRejected: o.replace_pending = false; break;
        default: break;
    }
    o.status = next_status(*t, o);
    record(index, event, from, outcome);
    if (outcome == Outcome::Overfill) {
        std::string text = order_tag(o.client_order_id) + ": overfill: " +
                           std::to_string(o.filled_qty) + " filled of qty " +
                           std::to_string(o.qty) + " after " + to_string(event.event) +
                           "; booked, flagged, position includes it";
        if (reason_out != nullptr) *reason_out = text;
        anomalies_.push_back(
            {o.client_order_id, event.event, o.status, outcome, event.ts, std::move(text)});
    }
    return outcome;
}

EventResult OrderBook::apply(ClientOrderId id, const EventInput& event) {
    const std::size_t index = index_of(id);
    EventResult result;
    if (!valid_event(static_cast<std::uint8_t>(event.event))) {
        throw std::invalid_argument("unknown order event code " +
                                    std::to_string(static_cast<int>(event.event)));
    }
    result.outcome = apply_to(index, event, &result.reason);
    result.status = orders_[index].status;
    return result;
}

void OrderBook::apply_batch(std::size_t n, const std::uint8_t* event, const ClientOrderId* id,
                            const std::int64_t* qty, const double* price,
                            const std::uint64_t* exec_id, const std::int64_t* ts,
                            std::uint8_t* outcome_out) {
    for (std::size_t i = 0; i < n; ++i) {
        const auto it = index_.find(id[i]);
        if (it == index_.end() || !valid_event(event[i])) {
            const bool known = it != index_.end();
            anomalies_.push_back(
                {id[i], static_cast<OrderEvent>(event[i]), OrderStatus::NewRequested,
                 Outcome::Refused, ts[i],
                 known ? "unknown order event code " + std::to_string(event[i]) +
                             " for " + order_tag(id[i])
                       : "unknown client order id " + format_client_order_id(id[i]) +
                             "; event dropped from the batch, recorded"});
            outcome_out[i] = static_cast<std::uint8_t>(Outcome::Refused);
            continue;
        }
        const EventInput in{static_cast<OrderEvent>(event[i]), qty[i], price[i], exec_id[i],
                            ts[i]};
        outcome_out[i] = static_cast<std::uint8_t>(apply_to(it->second, in, nullptr));
    }
}

}  // namespace tickbridge::orders
