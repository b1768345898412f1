// The order book: orders by client order id, driven by events through the transition
// table (transitions.hpp), with execution-id de-duplication, overfill flagging, replace
// rules, and the position book fed from fills only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "tickbridge/enums.hpp"
#include "tickbridge/orders/client_order_id.hpp"
#include "tickbridge/orders/exec_id_index.hpp"
#include "tickbridge/orders/position_book.hpp"
#include "tickbridge/orders/transitions.hpp"

namespace tickbridge::orders {

// What became of one event. Values are stable (returned in arrays by the batch path).
enum class Outcome : std::uint8_t {
    Applied = 1,    // the table allowed it; state and figures updated
    Duplicate = 2,  // a fill whose exec id is already booked on this order: nothing changed
    Refused = 3,    // not allowed (table or a rule): recorded and surfaced, nothing changed
    Overfill = 4,   // a fill booked beyond the order qty: applied, order flagged, surfaced
};

struct EventInput {
    OrderEvent event = OrderEvent::SubmitSent;
    std::int64_t qty = 0;       // Fill: executed qty; ReplaceSent: new order qty
    double price = 0.0;         // Fill: execution price; ReplaceSent: new limit/stop price
    std::uint64_t exec_id = 0;  // Fill: exec_id_key() of the platform's execution id
    std::int64_t ts = 0;        // event time, ns since the epoch (the engine's choice of clock)
};

// Why an event was refused (or flagged); the text is made only when someone reads it,
// so the hot path never formats strings.
enum class Reason : std::uint8_t {
    None = 0,
    NoTransition = 1,         // (state, event) not in the table
    FillWithoutExecId = 2,    // cannot be de-duplicated
    BadFill = 4,              // qty <= 0 or price not finite; detail: qty
    ReplaceNotAboveFilled = 5,// detail: new qty, detail2: filled qty
    NoReplacePending = 6,     // Replaced without a ReplaceSent
    UnknownOrder = 7,         // batch path only; the single-event path raises
    UnknownEvent = 8,         // batch path: event code out of range
    Overfill = 9,             // not a refusal: detail = filled qty, detail2 = order qty
};

struct EventResult {
    Outcome outcome = Outcome::Applied;
    OrderStatus status = OrderStatus::NewRequested;  // state after the event
    std::string reason;  // empty when applied; says order, state and event otherwise
};

// One recorded event of one order (refused and duplicate ones too).
struct HistoryEntry {
    std::int64_t ts;
    OrderEvent event;
    OrderStatus from;
    OrderStatus to;
    Outcome outcome;
};

struct Fill {
    std::uint64_t exec_id;
    std::int64_t qty;
    double price;
    std::int64_t ts;
    bool overfill;  // this fill took filled_qty past the order qty
};

// Something the engine must surface: a refused event or an overfill.
struct Anomaly {
    ClientOrderId client_order_id;
    OrderEvent event;
    OrderStatus status;  // state of the order when it happened (after, for an overfill)
    Outcome outcome;
    Reason reason;
    std::int64_t ts;
    std::int64_t detail;
    std::int64_t detail2;
};
// "order TB...: FILL refused in state REJECTED: no such transition in the table; ..."
std::string describe(const Anomaly& anomaly);

struct NewOrderRequest {
    std::string account;
    std::string instrument;  // must be registered (point value) first
    Side side = Side::Buy;
    OrderType order_type = OrderType::Limit;
    TimeInForce time_in_force = TimeInForce::Day;
    std::int64_t qty = 0;
    double price = std::numeric_limits<double>::quiet_NaN();       // limit price
    double stop_price = std::numeric_limits<double>::quiet_NaN();  // stop trigger
    std::int64_t ts = 0;
    std::optional<ClientOrderId> client_order_id;  // given: retried submit or restore
};

// Fields read or written on most events come first and fill one 64-byte cache line, so
// applying an event to an order that went cold costs one miss, not three.
struct alignas(64) Order {
    static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    // --- hot: first cache line ---
    OrderStatus status = OrderStatus::NewRequested;
    Side side = Side::Buy;
    bool replace_pending = false;
    std::uint32_t position_slot = 0;
    std::uint32_t fill_count = 0;  // booked fills (duplicates excluded)
    std::uint32_t refused_events = 0;
    std::int64_t qty = 0;
    std::int64_t filled_qty = 0;
    double fill_notional = 0.0;  // sum of qty * price over booked fills (VWAP numerator)
    // Newest entries of this order in the book-wide journals (linked back), or kNone.
    std::size_t last_history = kNone;
    std::size_t last_fill = kNone;
    std::int64_t updated_ts = 0;
    // --- the rest ---
    ClientOrderId client_order_id = 0;
    std::int64_t pending_qty = 0;
    double pending_price = 0.0;
    std::int64_t overfill_qty = 0;  // > 0: flagged, filled_qty - qty
    double price = 0.0;
    double stop_price = 0.0;
    std::int64_t created_ts = 0;
    std::uint32_t account_id = 0;
    std::uint32_t instrument_id = 0;
    OrderType order_type = OrderType::Limit;
    TimeInForce time_in_force = TimeInForce::Day;
    std::string account;     // names kept for the engine and the audit log; the hot path
    std::string instrument;  // uses the interned ids

    // Unfilled part of the order qty (also after a cancel): qty - filled, never negative.
    std::int64_t leaves_qty() const noexcept { return filled_qty >= qty ? 0 : qty - filled_qty; }
    // What can still fill at the platform: leaves_qty while live, 0 once terminal.
    std::int64_t working_qty() const noexcept { return is_terminal(status) ? 0 : leaves_qty(); }
    double avg_fill_price() const noexcept {
        return filled_qty == 0 ? 0.0 : fill_notional / static_cast<double>(filled_qty);
    }
    bool overfilled() const noexcept { return overfill_qty > 0; }
};

class OrderBook {
public:
    // session_epoch: the high 32 bits of every id this book makes; new at every engine start.
    explicit OrderBook(std::uint32_t session_epoch);

    PositionBook& positions() noexcept { return positions_; }
    const PositionBook& positions() const noexcept { return positions_; }
    std::uint32_t session_epoch() const noexcept { return session_epoch_; }

    // Creates an order in NEW_REQUESTED with a fresh client order id, or, when the request
    // names an existing id, returns that order unchanged (a retried submit is a no-op;
    // `created` tells which). Throws std::invalid_argument for qty <= 0, an unregistered
    // instrument, or an existing id reused with a different side/instrument/account.
    const Order& new_order(const NewOrderRequest& request, bool* created = nullptr);

    // Applies one event. Throws std::out_of_range naming the id when it is unknown;
    // everything else (refusals, duplicates, overfills) is an outcome, never a throw.
    EventResult apply(ClientOrderId id, const EventInput& event);

    // The hot path: n events from parallel arrays, outcome per event into `outcome_out`.
    // Unknown ids and bad event codes are refused and recorded as anomalies, not thrown.
    void apply_batch(std::size_t n, const std::uint8_t* event, const ClientOrderId* id,
                     const std::int64_t* qty, const double* price, const std::uint64_t* exec_id,
                     const std::int64_t* ts, std::uint8_t* outcome_out);

    bool contains(ClientOrderId id) const noexcept { return find_index(id) != kMissing; }
    const Order& order(ClientOrderId id) const;  // throws std::out_of_range naming the id
    std::vector<HistoryEntry> history(ClientOrderId id) const;  // oldest first
    std::vector<Fill> fills(ClientOrderId id) const;            // oldest first
    const std::vector<Order>& orders() const noexcept { return orders_; }

    const std::vector<Anomaly>& anomalies() const noexcept { return anomalies_; }
    std::vector<Anomaly> drain_anomalies();

    // Capacity for a session (orders, events), memory touched now: no page faults later.
    void reserve(std::size_t orders, std::size_t events);

private:
    static constexpr std::size_t kMissing = static_cast<std::size_t>(-1);
    std::size_t find_index(ClientOrderId id) const noexcept;
    std::size_t index_of(ClientOrderId id) const;  // throws std::out_of_range
    Outcome apply_to(std::size_t index, const EventInput& event);
    Outcome refuse(std::size_t index, const EventInput& event, Reason reason,
                   std::int64_t detail = 0, std::int64_t detail2 = 0);
    void record(std::size_t index, const EventInput& event, OrderStatus from, Outcome outcome);

    // Journal entries carry the index of the same order's previous entry, so an order's
    // history is a walk back and the hot path appends to one vector without allocating.
    struct Journaled {
        HistoryEntry entry;
        std::size_t prev;
    };
    struct FillRecord {
        Fill fill;
        std::size_t prev;
    };

    std::uint32_t session_epoch_;
    std::uint32_t next_counter_ = 1;
    PositionBook positions_;
    std::vector<Order> orders_;
    std::vector<Journaled> journal_;
    std::vector<FillRecord> fill_journal_;
    // Ids this book made map by counter (a vector read); restored ids by hash.
    std::vector<std::size_t> own_index_;
    std::unordered_map<ClientOrderId, std::size_t> foreign_index_;
    // Exec ids are unique per order. An order's first kScanFills fills are checked by
    // scanning them (cached, no hashing); past that its exec ids live in big_orders_execs_.
    static constexpr std::uint32_t kScanFills = 16;
    bool already_booked(const Order& o, std::uint64_t exec_id) const noexcept;
    ExecIdIndex big_orders_execs_;
    std::vector<Anomaly> anomalies_;
};

}  // namespace tickbridge::orders
