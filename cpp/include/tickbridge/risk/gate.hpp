// The pre-trade risk gate: every order passes here before it is sent to a platform.
// Limits are declared and validated in Python (tickbridge.risk); this is the hot path.
//
// Positions: the gate reads them from one orders::PositionBook, the one the engine books
// fills into (attach_positions: the OrderBook's), never from a copy fed to it. Until
// one is attached it reads its own (a standalone gate: benchmarks, tests), which
// on_fill() books into. A position of the order book counts for the gate's (account,
// instrument) when its account is the gate's account name and its symbol the
// instrument's configured symbol or an alias of it (alias_instrument: a platform's
// symbol of the same contract). Realized PnL is counted from the day's start
// (start_new_day / mark_day_start) with the gate's configured point value.
//
// Working quantities are the gate's own: an order that passes check() with commit=true
// is counted as working at once (a reservation), so two orders checked back to back
// cannot both use the same headroom before the platform acknowledges either. The
// engine then releases them as orders fill or end (release_working), and may set them
// from the order book's live orders after reconciliation (set_working).
//
// Session hours are decided in Python from the session calendar; the caller passes
// session_open with each order (the calendar caches the next open/close instant, so
// this costs a comparison per order there).
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "tickbridge/enums.hpp"
#include "tickbridge/orders/position_book.hpp"

namespace tickbridge::risk {

// Machine-readable reason of a decision. Values are stable: logged and audited.
enum class RiskReason : std::uint8_t {
    Ok = 0,
    InvalidOrder = 1,       // quantity <= 0, non-finite price, unknown order type
    NotAllowed = 2,         // unknown account, unknown instrument or not on the allow-list
    SessionClosed = 3,
    TradingHalted = 4,
    ReducingOnly = 5,       // state is reducing-only and the order would not reduce
    DailyLoss = 6,          // the account breached its daily loss limit: reducing / halted
    MaxOrderSize = 7,
    OffTick = 8,
    StaleMarketData = 9,    // no reference price, or older than the staleness limit
    PriceBand = 10,
    PositionLimit = 11,     // per instrument, projected with working orders
    AccountPositionLimit = 12,
    RateLimit = 13,
};
constexpr int kRiskReasonCount = 14;
const char* to_string(RiskReason reason);

enum class TradingState : std::uint8_t { Active = 0, ReducingOnly = 1, Halted = 2 };
const char* to_string(TradingState state);

enum class TickPolicy : std::uint8_t { Reject = 0, RoundPassive = 1 };
enum class BandBasis : std::uint8_t { LastTrade = 0, Mid = 1 };
enum class BandUnit : std::uint8_t { Ticks = 0, Percent = 1 };

struct InstrumentLimits {
    std::string symbol;
    double tick_size = 0.25;
    double point_value = 50.0;
    std::int64_t max_order_qty = 1;
    std::int64_t max_position = 1;          // absolute contracts, projected
    BandBasis band_basis = BandBasis::LastTrade;
    BandUnit band_unit = BandUnit::Ticks;
    double band_width = 40.0;               // ticks or percent of the reference price
    std::int64_t max_data_age_ns = 5'000'000'000;
    TickPolicy tick_policy = TickPolicy::Reject;
};

struct AccountLimits {
    std::string account;
    std::int64_t max_position = 0;          // sum over instruments of |projected|; 0 = none
    double daily_loss_limit = 0.0;          // currency, positive; 0 = none
    TradingState on_daily_loss = TradingState::ReducingOnly;
    std::int64_t max_orders_per_second = 0; // 0 = no limit
    std::int64_t max_orders_per_minute = 0;
    std::int64_t max_orders_per_hour = 0;
    std::vector<std::uint32_t> allowed_instruments;  // empty = every registered instrument
};

struct Order {
    std::uint32_t account_id = 0;
    std::uint32_t instrument_id = 0;
    Side side = Side::Buy;
    OrderType order_type = OrderType::Limit;
    std::int64_t qty = 0;
    double price = 0.0;                     // limit price (stop price for Stop); unused for Market
};

struct Decision {
    RiskReason reason = RiskReason::Ok;
    double price = 0.0;                     // the price to send: rounded when the policy says so
    std::string message;                    // empty when Ok and not rounded
    bool ok() const { return reason == RiskReason::Ok; }
};

// What the gate sees of one (account, instrument), as book() answers it: the position
// read from the position book, the working quantities reserved here.
struct PositionBook {
    std::int64_t position = 0;
    double avg_price = 0.0;
    double realized_pnl = 0.0;              // currency, since the day's start
    std::int64_t working_buy = 0;
    std::int64_t working_sell = 0;
};

class RiskGate {
public:
    std::uint32_t add_instrument(const InstrumentLimits& limits);
    std::uint32_t add_account(const AccountLimits& limits);
    void replace_instrument_limits(std::uint32_t instrument_id, const InstrumentLimits& limits);
    void replace_account_limits(std::uint32_t account_id, const AccountLimits& limits);

    // The check. commit=true books a passing order as working and counts it in the rate
    // windows; commit=false only answers (what-if, benchmarks).
    Decision check(const Order& order, std::int64_t now_ns, bool session_open, bool commit = true);
    // Same checks, no message strings: for batches. Returns the reason, writes the price.
    RiskReason check_fast(const Order& order, std::int64_t now_ns, bool session_open, bool commit,
                          double& price_out);

    // Market data: the reference for price bands and the mark for unrealized PnL.
    void on_trade(std::uint32_t instrument_id, double price, std::int64_t time_ns);
    void on_quote(std::uint32_t instrument_id, double bid, double ask, std::int64_t time_ns);

    // The position book to read (the engine's OrderBook's); it must outlive the gate.
    void attach_positions(const orders::PositionBook& positions);
    bool positions_attached() const { return external_ != nullptr; }
    // A symbol of the position book (a platform's) that is this instrument.
    void alias_instrument(const std::string& symbol, std::uint32_t instrument_id);
    // Realized PnL counts from now on (restart recovery, between yesterday's fills and
    // today's); start_new_day() does this and resets the loss-triggered states.
    void mark_day_start();

    // A fill of a working order: its quantity is no longer working. A standalone gate
    // (nothing attached) books it into its own position book too; with a book attached
    // the fill is booked there by its owner, and this throws std::logic_error.
    void on_fill(std::uint32_t account_id, std::uint32_t instrument_id, Side side, std::int64_t qty,
                 double price);
    // Quantity that stopped working (filled, canceled, rejected, expired).
    void release_working(std::uint32_t account_id, std::uint32_t instrument_id, Side side,
                         std::int64_t qty);
    void on_order_done(std::uint32_t account_id, std::uint32_t instrument_id, Side side,
                       std::int64_t remaining_qty) {
        release_working(account_id, instrument_id, side, remaining_qty);
    }
    void set_working(std::uint32_t account_id, std::uint32_t instrument_id, std::int64_t working_buy,
                     std::int64_t working_sell);
    // An order sent at time_ns (restart recovery: the rate windows of the last hour are
    // refilled from the store, oldest first, so a restart cannot reset a rate limit).
    void note_sent(std::uint32_t account_id, std::int64_t time_ns);

    // Trading state: the gate-wide state and each account's; the stricter one applies.
    void set_trading_state(TradingState state) { state_ = state; }
    TradingState trading_state() const { return state_; }
    void set_account_state(std::uint32_t account_id, TradingState state);
    TradingState account_state(std::uint32_t account_id) const;
    TradingState effective_state(std::uint32_t account_id) const;
    bool loss_breached(std::uint32_t account_id) const;

    // Realized + unrealized PnL of an account at the current marks (currency).
    double account_pnl(std::uint32_t account_id) const;
    // Re-evaluates every account's loss limit; returns the accounts whose state changed.
    std::vector<std::uint32_t> evaluate_loss();
    // New trading day: realized PnL to zero, loss-triggered states back to Active.
    void start_new_day();

    PositionBook book(std::uint32_t account_id, std::uint32_t instrument_id) const;
    std::size_t instrument_count() const { return instruments_.size(); }
    std::size_t account_count() const { return accounts_.size(); }

private:
    struct InstrumentState {
        InstrumentLimits limits;
        double last_price = 0.0;
        std::int64_t last_time_ns = 0;
        bool has_trade = false;
        double bid = 0.0, ask = 0.0;
        std::int64_t quote_time_ns = 0;
        bool has_quote = false;
    };
    // One (account, instrument): working quantities, and the slots of the position book
    // whose positions are its position (one, unless a platform trades it under two
    // symbols).
    // The first slot inline (the usual case: one symbol), so reading a position is two
    // loads and no walk of a vector. Linked lazily, from const readers too.
    // The first slot's net quantity is also held by address (kFlat when none), so the
    // hot path reads a position without a branch; link_positions() moves the addresses
    // when the position book's storage moved.
    static constexpr std::uint32_t kNoSlot = 0xFFFFFFFFu;
    static inline const std::int64_t kFlat = 0;
    struct Exposure {
        std::int64_t working_buy = 0;
        std::int64_t working_sell = 0;
        mutable const std::int64_t* net_qty = &kFlat;
        mutable std::uint32_t slot = kNoSlot;
        mutable std::vector<std::uint32_t> more;
        template <typename F>
        void each_slot(F&& f) const {
            if (slot == kNoSlot) return;
            f(slot);
            for (const auto s : more) f(s);
        }
    };
    struct AccountState {
        AccountLimits limits;
        std::vector<std::uint8_t> allowed;  // by instrument id
        TradingState state = TradingState::Active;
        bool loss_breached = false;
        std::vector<Exposure> books;        // by instrument id
        std::deque<std::int64_t> sent_second, sent_minute, sent_hour;
    };

    RiskReason evaluate(const Order& order, std::int64_t now_ns, bool session_open,
                        double& price_out, std::string* message);
    bool update_loss_state(AccountState& account);
    static bool reduces(std::int64_t position, const Exposure& book, Side side, std::int64_t qty);
    const orders::PositionBook& positions() const { return external_ ? *external_ : own_; }
    // Links the position book's positions not looked at yet (new since the last call);
    // inline: on the check path it is one comparison.
    void link_positions() const {
        const auto& all = positions().positions();
        if (linked_ != all.size() || all.data() != linked_data_) link_new();
    }
    void link_new() const;
    void relink() const;
    std::int64_t net(const Exposure& book) const { return net(positions().positions().data(), book); }
    static std::int64_t net(const orders::Position* all, const Exposure& book) {
        std::int64_t n = *book.net_qty;
        for (const auto s : book.more) n += all[s].net_qty;
        return n;
    }
    double pnl_of(const AccountState& account) const;  // links first: link_positions()
    double realized_today(const Exposure& book, const InstrumentState& instrument) const;
    double unrealized(const Exposure& book, const InstrumentState& instrument, double mark) const;
    double mark(const InstrumentState& instrument) const;
    void commit_order(AccountState& account, const Order& order, std::int64_t now_ns);
    AccountState& account_at(std::uint32_t account_id);
    const AccountState& account_at(std::uint32_t account_id) const;
    InstrumentState& instrument_at(std::uint32_t instrument_id);

    std::vector<InstrumentState> instruments_;
    std::vector<AccountState> accounts_;
    TradingState state_ = TradingState::Active;

    orders::PositionBook own_;                        // read while nothing is attached
    const orders::PositionBook* external_ = nullptr;  // the engine's OrderBook's
    std::unordered_map<std::string, std::uint32_t> account_ids_;     // name -> id
    std::unordered_map<std::string, std::uint32_t> instrument_ids_;  // symbol or alias -> id
    // Links are a cache of who-is-whose, kept up to date from const readers.
    mutable std::size_t linked_ = 0;                  // position slots looked at
    mutable const orders::Position* linked_data_ = nullptr;  // their storage then
    mutable std::vector<double> day_base_;            // realized points at the day's start, by slot

};

}  // namespace tickbridge::risk
