#include "tickbridge/orders/order_book.hpp"

#include <algorithm>
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

std::string describe(const Anomaly& a) {
    const std::string head = order_tag(a.client_order_id) + ": ";
    if (a.reason == Reason::Overfill) {
        return head + "overfill: " + std::to_string(a.detail) + " filled of qty " +
               std::to_string(a.detail2) + " after " + to_string(a.event) +
               "; booked, flagged, the position includes it";
    }
    if (a.reason == Reason::UnknownOrder) {
        return "unknown client order id " + format_client_order_id(a.client_order_id) +
               ": event " + to_string(a.event) + " dropped from the batch, recorded";
    }
    if (a.reason == Reason::UnknownEvent) {
        return head + "unknown order event code " + std::to_string(a.detail) +
               " dropped from the batch, recorded";
    }
    std::string why;
    switch (a.reason) {
        case Reason::NoTransition: why = "no such transition in the table"; break;
        case Reason::FillWithoutExecId:
            why = "a fill without an execution id cannot be de-duplicated";
            break;
        case Reason::BadFill: why = "fill qty must be > 0 and the price finite"; break;
        case Reason::ReplaceNotAboveFilled:
            why = "new qty " + std::to_string(a.detail) + " is not above the " +
                  std::to_string(a.detail2) + " already filled";
            break;
        case Reason::NoReplacePending: why = "no replace is pending"; break;
        default: why = "refused"; break;
    }
    return head + to_string(a.event) + " refused in state " + to_string(a.status) + ": " + why +
           "; recorded, not applied";
}

OrderBook::OrderBook(std::uint32_t session_epoch) : session_epoch_(session_epoch) {}

void OrderBook::reserve(std::size_t orders, std::size_t events) {
    // Grown and shrunk back rather than only reserved, so the pages are touched now, at
    // start-up, and the first busy minutes of the session take no page faults.
    const auto prefault = [](auto& v, std::size_t n) {
        if (v.capacity() >= n) return;
        const std::size_t size = v.size();
        v.resize(n);
        v.resize(size);
    };
    prefault(orders_, orders);
    prefault(own_index_, orders);
    prefault(journal_, events);
    prefault(fill_journal_, events / 2);
    big_orders_execs_.reserve(events / 16);
}

std::size_t OrderBook::find_index(ClientOrderId id) const noexcept {
    if (session_epoch_of(id) == session_epoch_) {
        const auto counter = static_cast<std::size_t>(id & 0xFFFFFFFFu);
        if (counter >= 1 && counter <= own_index_.size()) {
            const std::size_t index = own_index_[counter - 1];
            if (index != kMissing) return index;
        }
    }
    if (foreign_index_.empty()) return kMissing;
    const auto it = foreign_index_.find(id);
    return it == foreign_index_.end() ? kMissing : it->second;
}

std::size_t OrderBook::index_of(ClientOrderId id) const {
    const std::size_t index = find_index(id);
    if (index == kMissing) {
        throw std::out_of_range("unknown client order id " + format_client_order_id(id) + " (" +
                                std::to_string(id) + ")");
    }
    return index;
}

const Order& OrderBook::new_order(const NewOrderRequest& request, bool* created) {
    if (created != nullptr) *created = false;
    if (request.client_order_id) {
        if (const std::size_t index = find_index(*request.client_order_id); index != kMissing) {
            // A retried submit: same id, same order. Anything else is an engine bug.
            const Order& existing = orders_[index];
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
        if (*request.client_order_id == 0) {
            throw std::invalid_argument("client order id 0 is reserved; ids start at counter 1");
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
        do {
            if (next_counter_ == 0) {  // wrapped: 2^32 - 1 orders in one session
                throw std::overflow_error("session epoch " + std::to_string(session_epoch_) +
                                          " ran out of client order ids; start a new session");
            }
            id = make_client_order_id(session_epoch_, next_counter_++);
        } while (find_index(id) != kMissing);  // a restored id of this epoch took it
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

    const std::size_t index = orders_.size();
    const auto counter = static_cast<std::size_t>(id & 0xFFFFFFFFu);
    if (session_epoch_of(id) == session_epoch_ && counter >= 1 &&
        counter <= own_index_.size() + 1024) {
        if (own_index_.size() < counter) own_index_.resize(counter, kMissing);
        own_index_[counter - 1] = index;
    } else {
        foreign_index_.emplace(id, index);
    }
    orders_.push_back(std::move(o));
    if (created != nullptr) *created = true;
    return orders_.back();
}

const Order& OrderBook::order(ClientOrderId id) const { return orders_[index_of(id)]; }

std::vector<HistoryEntry> OrderBook::history(ClientOrderId id) const {
    std::vector<HistoryEntry> out;
    for (std::size_t i = orders_[index_of(id)].last_history; i != Order::kNone;
         i = journal_[i].prev) {
        out.push_back(journal_[i].entry);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<Fill> OrderBook::fills(ClientOrderId id) const {
    std::vector<Fill> out;
    for (std::size_t i = orders_[index_of(id)].last_fill; i != Order::kNone;
         i = fill_journal_[i].prev) {
        out.push_back(fill_journal_[i].fill);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<Anomaly> OrderBook::drain_anomalies() { return std::exchange(anomalies_, {}); }

bool OrderBook::already_booked(const Order& o, std::uint64_t exec_id) const noexcept {
    if (o.fill_count > kScanFills) return big_orders_execs_.contains(exec_id, o.client_order_id);
    for (std::size_t i = o.last_fill; i != Order::kNone; i = fill_journal_[i].prev) {
        if (fill_journal_[i].fill.exec_id == exec_id) return true;
    }
    return false;
}

void OrderBook::record(std::size_t index, const EventInput& event, OrderStatus from,
                       Outcome outcome) {
    Order& o = orders_[index];
    journal_.push_back({{event.ts, event.event, from, o.status, outcome}, o.last_history});
    o.last_history = journal_.size() - 1;
    if (outcome == Outcome::Applied || outcome == Outcome::Overfill) o.updated_ts = event.ts;
}

Outcome OrderBook::refuse(std::size_t index, const EventInput& event, Reason reason,
                          std::int64_t detail, std::int64_t detail2) {
    Order& o = orders_[index];
    ++o.refused_events;
    record(index, event, o.status, Outcome::Refused);
    anomalies_.push_back({o.client_order_id, event.event, o.status, Outcome::Refused, reason,
                          event.ts, detail, detail2});
    return Outcome::Refused;
}

Outcome OrderBook::apply_to(std::size_t index, const EventInput& event) {
    Order& o = orders_[index];
    const OrderStatus from = o.status;

    // De-duplication comes before the table: a redelivered fill is harmless in any state.
    if (event.event == OrderEvent::Fill) {
        if (event.exec_id == 0) return refuse(index, event, Reason::FillWithoutExecId);
        if (already_booked(o, event.exec_id)) {
            record(index, event, from, Outcome::Duplicate);
            return Outcome::Duplicate;
        }
        if (event.qty <= 0 || !std::isfinite(event.price)) {
            return refuse(index, event, Reason::BadFill, event.qty);
        }
    }

    const Transition* t = find_transition(from, event.event);
    if (t == nullptr) return refuse(index, event, Reason::NoTransition);

    Outcome outcome = Outcome::Applied;
    switch (event.event) {
        case OrderEvent::Fill: {
            if (o.fill_count == kScanFills) {  // from now on, hashed: move the scanned ones
                for (std::size_t i = o.last_fill; i != Order::kNone; i = fill_journal_[i].prev) {
                    big_orders_execs_.insert(fill_journal_[i].fill.exec_id, o.client_order_id);
                }
            }
            if (o.fill_count >= kScanFills) {
                big_orders_execs_.insert(event.exec_id, o.client_order_id);
            }
            ++o.fill_count;
            o.filled_qty += event.qty;
            o.fill_notional += static_cast<double>(event.qty) * event.price;
            const bool over = o.filled_qty > o.qty;
            fill_journal_.push_back(
                {{event.exec_id, event.qty, event.price, event.ts, over}, o.last_fill});
            o.last_fill = fill_journal_.size() - 1;
            positions_.apply_fill(o.position_slot, o.side, event.qty, event.price);
            if (over) {
                o.overfill_qty = o.filled_qty - o.qty;
                outcome = Outcome::Overfill;
            }
            break;
        }
        case OrderEvent::ReplaceSent:
            // Replacing at or below the filled qty leaves nothing to work: that is a
            // cancel, or a bug. Refuse it.
            if (event.qty <= o.filled_qty) {
                return refuse(index, event, Reason::ReplaceNotAboveFilled, event.qty,
                              o.filled_qty);
            }
            o.replace_pending = true;
            o.pending_qty = event.qty;
            o.pending_price = event.price;
            break;
        case OrderEvent::Replaced:
            if (!o.replace_pending) return refuse(index, event, Reason::NoReplacePending);
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
        anomalies_.push_back({o.client_order_id, event.event, o.status, outcome,
                              Reason::Overfill, event.ts, o.filled_qty, o.qty});
    }
    return outcome;
}

EventResult OrderBook::apply(ClientOrderId id, const EventInput& event) {
    if (!valid_event(static_cast<std::uint8_t>(event.event))) {
        throw std::invalid_argument("unknown order event code " +
                                    std::to_string(static_cast<int>(event.event)));
    }
    const std::size_t index = index_of(id);
    const std::size_t anomalies_before = anomalies_.size();
    EventResult result;
    result.outcome = apply_to(index, event);
    result.status = orders_[index].status;
    if (anomalies_.size() > anomalies_before) result.reason = describe(anomalies_.back());
    return result;
}

void OrderBook::apply_batch(std::size_t n, const std::uint8_t* event, const ClientOrderId* id,
                            const std::int64_t* qty, const double* price,
                            const std::uint64_t* exec_id, const std::int64_t* ts,
                            std::uint8_t* outcome_out) {
    for (std::size_t i = 0; i < n; ++i) {
        const std::size_t index = find_index(id[i]);
        if (index == kMissing || !valid_event(event[i])) {
            const bool known = index != kMissing;
            anomalies_.push_back({id[i], static_cast<OrderEvent>(event[i]),
                                  known ? orders_[index].status : OrderStatus::NewRequested,
                                  Outcome::Refused,
                                  known ? Reason::UnknownEvent : Reason::UnknownOrder, ts[i],
                                  event[i], 0});
            outcome_out[i] = static_cast<std::uint8_t>(Outcome::Refused);
            continue;
        }
        const EventInput in{static_cast<OrderEvent>(event[i]), qty[i], price[i], exec_id[i],
                            ts[i]};
        outcome_out[i] = static_cast<std::uint8_t>(apply_to(index, in));
    }
}

}  // namespace tickbridge::orders
