// The engine's tick path: one call per received frame validates it, applies every trade
// and quote to its instrument's market state and compiled signals, and returns only what
// Python must see (order-related records, closed bars, fired triggers). Python wakes once
// per frame, never per tick.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tickbridge/engine/armed_orders.hpp"
#include "tickbridge/engine/copy_orders.hpp"
#include "tickbridge/protocol.hpp"
#include "tickbridge/signals/bars.hpp"
#include "tickbridge/signals/indicators.hpp"
#include "tickbridge/signals/orderflow.hpp"

namespace tickbridge::orders {
class OrderBook;
}
namespace tickbridge::risk {
class RiskGate;
}

namespace tickbridge::engine {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// CME Globex trading day: sessions change at 22:00 UTC, which is the 17:00 CT open in
// summer (CDT) and inside the 16:00-17:00 CT maintenance break in winter (CST), so no
// trade ever straddles it. VWAP, delta and bars restart there.
std::int64_t trading_day(std::int64_t time_ns) noexcept;

struct SignalConfig {
    std::int64_t bar_interval_ns = 60'000'000'000;  // time bars
    std::int64_t ema_fast_period = 9;                // EMAs of trade prices, per tick
    std::int64_t ema_slow_period = 21;
    double vwap_band_mult = 2.0;
};

struct MarketState {
    std::int64_t last_time_ns = 0;
    double last_price = kNaN;
    std::uint32_t last_size = 0;
    std::int64_t quote_time_ns = 0;
    double bid = kNaN;
    double ask = kNaN;
    std::uint32_t bid_size = 0;
    std::uint32_t ask_size = 0;
    std::uint64_t trades = 0;
    std::uint64_t quotes = 0;
    double volume = 0.0;
    double ema_fast = kNaN;
    double ema_slow = kNaN;
    double vwap = kNaN;
    double vwap_upper = kNaN;
    double vwap_lower = kNaN;
    double delta = 0.0;
};

// A one-shot price trigger: fires on the first trade at or beyond `level` in its direction.
struct Trigger {
    std::uint32_t id;
    double level;
    bool above;  // fires when price >= level; else when price <= level
};

enum class EventKind : std::uint8_t { BarClosed = 1, TriggerFired = 2 };

struct SignalEvent {
    EventKind kind;
    std::uint32_t slot;
    std::uint32_t trigger_id;  // TriggerFired
    signals::Bar bar;          // BarClosed; for TriggerFired: ts and close = the trade
    double ema_fast;
    double ema_slow;
    double vwap;
    double delta;
};

struct OtherRecord {
    protocol::RecordType type;
    std::uint32_t offset;
};

struct IngestResult {
    protocol::FrameHeader header{};
    std::vector<OtherRecord> others;  // records for Python: order events, hello, ...
    std::vector<SignalEvent> events;
    std::uint32_t trades = 0;
    std::uint32_t quotes = 0;
    std::uint32_t depth = 0;
    std::uint32_t unknown_instrument = 0;  // market data for an undefined instrument id
    std::uint32_t out_of_order = 0;        // trades older than the instrument's last
    std::uint32_t bad_values = 0;          // non-finite prices
    std::vector<FiredOrder> fired;         // armed orders whose trigger fired, in order
    std::vector<std::byte> submits;        // the Submit records of the Sent ones, packed
};

class MarketCore {
public:
    explicit MarketCore(SignalConfig config = {});

    // A shim session; instrument ids are per session. A released slot is reused first, so
    // peers that come and go (or flood garbage from new identities) keep memory flat.
    std::uint32_t add_session();
    // The peer of `session` is forgotten: its instrument map is freed and the slot is
    // free for the next add_session. The engine releases only sessions no order or armed
    // order refers to (peers that never completed a hello).
    void release_session(std::uint32_t session);
    std::size_t session_count() const noexcept { return session_maps_.size() - free_sessions_.size(); }
    // Maps (session, the shim's instrument id) to an engine slot, made once per symbol.
    std::uint32_t define_instrument(std::uint32_t session, std::uint32_t instrument_id,
                                    const std::string& symbol);
    std::optional<std::uint32_t> slot_of(const std::string& symbol) const;

    std::uint32_t add_trigger(std::uint32_t slot, double level, bool above);
    void clear_triggers(std::uint32_t slot);  // armed orders on the slot too

    // Armed orders (armed_orders.hpp). The book and the gate are the engine's, not owned;
    // the gate may be null (no risk configuration).
    void attach(orders::OrderBook* book, risk::RiskGate* gate) noexcept;
    std::uint32_t arm(std::uint32_t slot, double level, bool above, ArmedOrder order);
    bool disarm(std::uint32_t trigger_id);
    std::size_t armed_count() const noexcept { return armed_.size(); }
    void set_session_enabled(std::uint32_t session, bool enabled);
    // The copier's compiled followers (copy_orders.hpp), by the id add_copy returns.
    std::uint32_t add_copy(CopyFollower copy);
    bool remove_copy(std::uint32_t id);
    void set_copy_state(std::uint32_t id, bool ready, std::int64_t leader_position,
                        std::int64_t held);
    std::size_t copy_count() const noexcept { return copies_.size(); }
    // Request ids of every command, whether sent from the tick path or from Python.
    std::uint64_t take_request_id() noexcept { return next_request_id_++; }
    // The sequence of the next frame to a session: one counter, whether the frame goes
    // from the compiled receive path or from Python.
    std::uint64_t next_tx_sequence(std::uint32_t session) { return ++tx_sequence_.at(session); }

    // Validates the frame whole (nothing applied when it is malformed), then applies it.
    // Reuses `out`'s buffers: a steady stream does not allocate.
    std::optional<protocol::DecodeError> ingest(std::uint32_t session,
                                                std::span<const std::byte> frame,
                                                IngestResult& out);

    // The market state with the VWAP bands brought up to date (they are not per tick).
    MarketState state(std::uint32_t slot) const;
    const std::string& symbol(std::uint32_t slot) const { return instruments_.at(slot).symbol; }
    std::size_t instrument_count() const noexcept { return instruments_.size(); }

private:
    // What one trade updates. A run of trades works on a local copy of it, which the
    // compiler keeps in registers; through the Instrument, each field would be stored and
    // loaded again per tick, since the frame's bytes may alias it.
    struct TickState {
        explicit TickState(const SignalConfig& config);
        MarketState market;
        signals::BarBuilder bars;
        signals::Ema ema_fast;
        signals::Ema ema_slow;
        signals::SessionVwap vwap;
        signals::CumulativeDelta delta;
        // The trading day of the last trade and its bounds: a 64-bit division per tick
        // costs more than the rest of the signals, and the day changes once a day.
        std::int64_t day = 0;
        std::int64_t day_start_ns = 1;
        std::int64_t day_end_ns = 0;
    };

    struct Instrument {
        Instrument(std::string sym, const SignalConfig& config)
            : symbol(std::move(sym)), tick(config) {}
        std::string symbol;
        TickState tick;
        std::vector<Trigger> triggers;
    };

    // Applies one trade to `tick`; false when it was refused (counted in `out`).
    static bool apply_trade(TickState& tick, std::uint32_t slot, const protocol::Trade& trade,
                            IngestResult& out);
    // The trades of `instrument_id` in a row from `offset`, on a local TickState; returns
    // the offset after them and advances `index`.
    std::size_t apply_trade_run(std::uint32_t slot, std::uint32_t instrument_id,
                                std::span<const std::byte> frame, std::size_t offset,
                                std::uint32_t& index, IngestResult& out);
    void on_trade(std::uint32_t slot, const protocol::Trade& trade, IngestResult& out);
    void fire(std::uint32_t trigger_id, const Instrument& in, const protocol::Trade& trade,
              IngestResult& out);
    // Makes, checks and packs one order from the tick path (an armed order's, a copy's):
    // `fired` says how it went; Sent: its Submit is appended to out.submits.
    void place(const ArmedOrder& a, const MarketState& m, std::int64_t market_now_ns,
               FiredOrder& fired, IngestResult& out);
    void copy_position(std::uint32_t session, std::uint32_t slot, const protocol::Position& pos,
                       IngestResult& out);
    void on_quote(std::uint32_t slot, const protocol::Quote& quote);

    SignalConfig config_;
    std::vector<Instrument> instruments_;
    std::vector<std::vector<std::int32_t>> session_maps_;  // session -> instrument id -> slot or -1
    std::uint32_t next_trigger_ = 1;
    std::unordered_map<std::uint32_t, ArmedOrder> armed_;  // by trigger id
    std::vector<std::pair<std::uint32_t, CopyFollower>> copies_;  // by id, in the order added
    std::uint32_t next_copy_ = 1;
    std::vector<bool> session_enabled_;
    std::vector<std::uint64_t> tx_sequence_;  // per session: the last frame sent to it
    std::vector<std::uint32_t> free_sessions_;  // released slots, reused by add_session
    orders::OrderBook* book_ = nullptr;  // not owned
    risk::RiskGate* gate_ = nullptr;     // not owned
    std::uint64_t next_request_id_ = 1;
};

}  // namespace tickbridge::engine
