// TickBridge: a Sierra Chart ACSIL study that bridges one chart (symbol + trade account) to
// the tickbridge execution engine. See acsil/README.md for installation and inputs.
//
// Threading (Sierra Chart runs every study function on its one main thread; a study that
// waits freezes the whole program): this function only reads Sierra Chart's state, encodes
// records into a lock-free queue and executes commands already received. One background
// thread per study instance (tickbridge::shim::Shim) owns the ZeroMQ sockets; it never
// calls a Sierra Chart function. The kill endpoint and cancel-on-disconnect therefore act
// at the study's next call, i.e. at the next chart update: run the chart with a short
// Chart Update Interval (e.g. 50 ms); sc.UpdateAlways = 1 makes Sierra Chart call the
// study at that interval even when no market data arrives.
//
// Sierra Chart builds each .cpp of ACS_Source into its own DLL, so there the shim library
// comes in as one generated header (TickBridgeShim.h, made from cpp/ by
// acsil/amalgamate.py). The Linux CMake build (TICKBRIDGE_BUILD_SHIM) links the same
// sources as the tickbridge_shim library instead. Either must come before sierrachart.h:
// zmq.h includes winsock2.h, which must precede the windows.h that sierrachart.h includes.
//
// sierrachart.h defines _USE_MATH_DEFINES before <math.h> to get M_PI, but the shim's
// <cmath> comes first and <math.h> is then not read again: define it here, before anything.
#ifndef _USE_MATH_DEFINES
#define _USE_MATH_DEFINES
#endif
#if defined(TICKBRIDGE_SHIM_LINKED)
#include "tickbridge/shim/shim.hpp"
#else
#include "TickBridgeShim.h"
#endif

// The standard headers before sierrachart.h, which defines min and max as macros.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "sierrachart.h"

SCDLLName("TickBridge")

namespace {

namespace protocol = tickbridge::protocol;
using protocol::RecordType;
using protocol::RejectReason;
using tickbridge::shim::CommandOrigin;
using tickbridge::shim::CommandSlot;
using tickbridge::shim::Shim;
using tickbridge::shim::ShimConfig;

enum Inputs {
    kInEngineEndpoint = 0,
    kInKillEndpoint,
    kInKillSecret,
    kInCancelOnDisconnect,
    kInHeartbeatIntervalMs,
    kInSilenceHeartbeats,
    kInForwardTimeAndSales,
    kInForwardDepth,
    kInDepthLevels,
    kInKillButton,
    kInKillButtonFlattens,
    kInInstrumentId,
    kInCurveServerKey,  // appended: the inputs of saved charts keep their numbers
    kInCurveClientKey,
    kInLiveTrading,  // issue 13: No = paper (Sierra Chart's trade simulation), Yes = live
    kInKillDeadlineSeconds,  // how long a kill Sierra Chart cannot run now is tried again
};

constexpr int kStatePointerKey = 1;
constexpr int kStatusLineNumber = 0x54420001;  // the status text drawing ("TB", 1)
constexpr std::size_t kMaxDepthLevels = 10;
using tickbridge::shim::KillTicket;

// The SCT_SKIPPED_* results (scconstants.h): Sierra Chart did not act now, it may later.
bool skipped_for_now(int result) {
    return result == SCT_SKIPPED_FULL_RECALC || result == SCT_SKIPPED_DOWNLOADING_HISTORICAL_DATA ||
           result == SCT_SKIPPED_AUTO_TRADING_DISABLED ||
           result == SCT_SKIPPED_TOO_MANY_NEW_BARS_DURING_UPDATE;
}

std::int64_t utc_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// SCDateTime is an int64 count of microseconds; ToUNIXTimeInMicroseconds() is exact (the
// days-as-double route was off by 1 us for about 1% of timestamps).
std::int64_t sc_time_to_unix_ns(const SCDateTime& time) {
    return time.ToUNIXTimeInMicroseconds() * 1000;
}

// sc.TickSize is a float: 1.08345 is 1.0834499597549438 as a double. The exchange's tick
// is a short decimal, and a float holds 7 significant digits: print those, read back.
double decimal_tick_size(float tick) {
    char text[32];
    std::snprintf(text, sizeof text, "%.7g", static_cast<double>(tick));
    return std::strtod(text, nullptr);
}

std::uint8_t to_order_status(const s_SCTradeOrder& order) {
    using tickbridge::OrderStatus;
    OrderStatus status = OrderStatus::NewRequested;
    switch (order.OrderStatusCode) {
        case SCT_OSC_UNSPECIFIED: status = OrderStatus::NewRequested; break;
        case SCT_OSC_ORDERSENT:
        case SCT_OSC_PENDINGOPEN:
        // Held by Sierra Chart before it goes to the trade service: sent, not yet accepted.
        case SCT_OSC_HELD: status = OrderStatus::Submitted; break;
        // A child (attached) order waiting for its parent's fill, in Sierra Chart or at
        // the server: accepted, not yet working at the exchange.
        case SCT_OSC_PENDING_CHILD_CLIENT:
        case SCT_OSC_PENDING_CHILD_SERVER: status = OrderStatus::Acknowledged; break;
        case SCT_OSC_OPEN:
            status = order.FilledQuantity > 0 ? OrderStatus::PartiallyFilled : OrderStatus::Working;
            break;
        case SCT_OSC_PENDINGMODIFY:
        case SCT_OSC_PENDING_CANCEL_FOR_REPLACE: status = OrderStatus::PendingReplace; break;
        case SCT_OSC_PENDINGCANCEL: status = OrderStatus::PendingCancel; break;
        case SCT_OSC_FILLED: status = OrderStatus::Filled; break;
        case SCT_OSC_CANCELED: status = OrderStatus::Canceled; break;
        case SCT_OSC_ERROR: status = OrderStatus::Rejected; break;
        default: status = OrderStatus::NewRequested; break;
    }
    return static_cast<std::uint8_t>(status);
}

std::uint8_t to_order_type(int sc_order_type) {
    switch (sc_order_type) {
        case SCT_ORDERTYPE_MARKET: return static_cast<std::uint8_t>(tickbridge::OrderType::Market);
        case SCT_ORDERTYPE_LIMIT: return static_cast<std::uint8_t>(tickbridge::OrderType::Limit);
        case SCT_ORDERTYPE_STOP: return static_cast<std::uint8_t>(tickbridge::OrderType::Stop);
        case SCT_ORDERTYPE_STOP_LIMIT:
            return static_cast<std::uint8_t>(tickbridge::OrderType::StopLimit);
        default: return 0;  // an order type the protocol does not name (trailing, OCO, ...)
    }
}

std::uint8_t to_side(BuySellEnum side) {
    if (side == BSE_BUY) return static_cast<std::uint8_t>(tickbridge::Side::Buy);
    if (side == BSE_SELL) return static_cast<std::uint8_t>(tickbridge::Side::Sell);
    return 0;
}

struct OrderSeen {
    int status_code;
    double quantity, filled, price1, price2, average;
    bool operator==(const OrderSeen& o) const {  // C++17: no defaulted operator==
        return status_code == o.status_code && quantity == o.quantity && filled == o.filled &&
               price1 == o.price1 && price2 == o.price2 && average == o.average;
    }
};

struct DepthLevel {
    double price = 0;
    double quantity = 0;
    bool operator==(const DepthLevel& o) const {
        return price == o.price && quantity == o.quantity;
    }
};

// What the engine was told in the last Hello and InstrumentDefinition.
struct HelloIdentity {
    std::string symbol, account;
    bool simulated = true;
    float tick_size = 0, currency_per_tick = 0;
};

// Everything one study instance keeps between calls, behind sc's persistent pointer.
struct StudyState {
    explicit StudyState(ShimConfig shim_config)
        : shim(std::make_unique<Shim>(std::move(shim_config))) {}

    std::unique_ptr<Shim> shim;  // replaced, not the state, when the link inputs change
    std::uint32_t instrument_id = 1;
    bool hello_posted = false;
    HelloIdentity hello_identity;
    bool time_and_sales_started = false;
    std::uint32_t last_time_and_sales_sequence = 0;
    bool fills_started = false;
    std::unordered_set<std::string> fills_forwarded;  // execution ids sent
    std::unordered_map<std::uint32_t, OrderSeen> orders_seen;
    std::unordered_map<std::uint64_t, std::uint32_t> order_by_client_id;
    std::unordered_map<std::uint32_t, std::uint64_t> client_id_by_order;
    std::unordered_map<std::uint64_t, std::uint8_t> time_in_force_by_client_id;
    double position_quantity = NAN, position_average = NAN;
    double account_seen[4] = {NAN, NAN, NAN, NAN};
    std::chrono::steady_clock::time_point next_account_check{};
    DepthLevel bids[kMaxDepthLevels], asks[kMaxDepthLevels];
    // Kills that Sierra Chart skipped (full recalculation, history download, auto trading
    // off): tried again at every call until they run or the kill deadline input passes.
    // A kill from the engine or the kill endpoint carries the socket thread's ticket: that
    // thread answers its requester with what the call returned, or "failed, not run" at
    // the deadline (then the ticket can no longer be claimed and the kill is dropped).
    struct PendingKill {
        bool flatten = false;
        KillTicket ticket;  // generation 0: the control bar button (answered in the log)
        const char* source = "";
        std::chrono::steady_clock::time_point give_up{};
        int last_result = 0;
    };
    std::vector<PendingKill> pending_kills;
    // Cancel-on-disconnect: the engine's working orders whose CancelOrder Sierra Chart
    // skipped for now, tried again at every call until the kill deadline.
    struct DisconnectCancels {
        std::vector<std::uint32_t> order_ids;
        std::size_t total = 0, canceled = 0, gone = 0, refused = 0;
        int last_error = 0;
        bool skip_logged = false;
        std::chrono::steady_clock::time_point give_up{};
    };
    DisconnectCancels disconnect_cancels;
    // The engine's trading state for this account (TradingState records), shown on the
    // status line; -1 until the engine sends one. Never acted on: the engine enforces it.
    int trading_state = -1;
    std::string trading_reason;
    std::uint32_t trading_state_version = 0;
    // What the last PlatformStatus said (sc.ServerConnectionState and paper/live).
    int platform_status_sent = -1;
    std::string last_refusal_logged;
    std::string last_error;  // shown on the chart's status line
    std::string status_drawn;
    std::string last_reject_logged;
    std::vector<std::string> rejects_to_log;
    struct StatusKey {
        bool engine_alive, live;
        const char* refused;
        bool kill_pending, cancels_pending;
        std::uint32_t trading_state_version;
        std::size_t error_size;
        char error_first;
        bool operator==(const StatusKey& o) const {
            return engine_alive == o.engine_alive && live == o.live && refused == o.refused &&
                   kill_pending == o.kill_pending && cancels_pending == o.cancels_pending &&
                   trading_state_version == o.trading_state_version &&
                   error_size == o.error_size &&
                   error_first == o.error_first;
        }
    };
    StatusKey status_key{};
    bool status_drawn_once = false;
    // The closing orders of this study's last FlattenAndCancelAllOrders (a Flatten command,
    // a kill with flatten): Sierra Chart places them itself, with no text tag of the
    // engine's, so they would go out as external orders (client order id 0) and the engine
    // would not book the flatten. Orders first seen after the call, within kFlattenWatch,
    // that close the position the call found (closes_for_flatten) get a platform-made id.
    struct FlattenWatch {
        double position = 0;  // signed, when the flatten ran; 0: nothing watched
        double claimed = 0;   // closing quantity given platform-made ids so far
        std::chrono::steady_clock::time_point until{};
    };
    FlattenWatch flatten_watch;
    std::uint32_t platform_orders = 0;  // platform-made ids given by this study instance
};

// A string input as the trader typed it. Sierra Chart's GetString() returns "Unset" for an
// input left empty (SetString("") stores no string at all), which would make an empty kill
// secret the secret "Unset" and an empty kill endpoint the endpoint "Unset": read the
// stored string itself, empty when there is none.
const char* input_chars(const s_SCInput_145& input) {
    if (!input.UsesStringValue() || input.StringValue == nullptr) return "";
    return input.StringValue;
}

std::string input_string(const s_SCInput_145& input) { return input_chars(input); }

ShimConfig config_from_inputs(SCStudyInterfaceRef sc) {
    ShimConfig config;
    config.engine_endpoint = input_string(sc.Input[kInEngineEndpoint]);
    config.kill_endpoint = input_string(sc.Input[kInKillEndpoint]);
    config.kill_secret = input_string(sc.Input[kInKillSecret]);
    config.curve_server_key = input_string(sc.Input[kInCurveServerKey]);
    config.curve_client_key = input_string(sc.Input[kInCurveClientKey]);
    config.cancel_on_disconnect = sc.Input[kInCancelOnDisconnect].GetYesNo() != 0;
    config.heartbeat_interval_ms =
        static_cast<std::uint32_t>(sc.Input[kInHeartbeatIntervalMs].GetInt() > 0
                                       ? sc.Input[kInHeartbeatIntervalMs].GetInt()
                                       : 1000);
    config.kill_deadline_ms = static_cast<std::uint32_t>(
        1000 * (sc.Input[kInKillDeadlineSeconds].GetInt() > 0
                    ? sc.Input[kInKillDeadlineSeconds].GetInt()
                    : 30));
    config.silence_heartbeats =
        static_cast<std::uint32_t>(sc.Input[kInSilenceHeartbeats].GetInt() > 0
                                       ? sc.Input[kInSilenceHeartbeats].GetInt()
                                       : 3);
    return config;
}

bool same_link(const ShimConfig& a, const ShimConfig& b) {
    return a.engine_endpoint == b.engine_endpoint && a.kill_endpoint == b.kill_endpoint &&
           a.kill_secret == b.kill_secret && a.cancel_on_disconnect == b.cancel_on_disconnect &&
           a.curve_server_key == b.curve_server_key &&
           a.curve_client_key == b.curve_client_key &&
           a.heartbeat_interval_ms == b.heartbeat_interval_ms &&
           a.kill_deadline_ms == b.kill_deadline_ms &&
           a.silence_heartbeats == b.silence_heartbeats;
}

// same_link(config, config_from_inputs(sc)) without building a config: no allocation.
bool same_link_inputs(SCStudyInterfaceRef sc, const ShimConfig& config) {
    const auto same = [&sc](int input, const std::string& value) {
        return std::strcmp(input_chars(sc.Input[input]), value.c_str()) == 0;
    };
    const auto positive_or = [&sc](int input, int fallback) {
        const int value = sc.Input[input].GetInt();
        return static_cast<std::uint32_t>(value > 0 ? value : fallback);
    };
    return same(kInEngineEndpoint, config.engine_endpoint) &&
           same(kInKillEndpoint, config.kill_endpoint) &&
           same(kInKillSecret, config.kill_secret) &&
           same(kInCurveServerKey, config.curve_server_key) &&
           same(kInCurveClientKey, config.curve_client_key) &&
           (sc.Input[kInCancelOnDisconnect].GetYesNo() != 0) == config.cancel_on_disconnect &&
           positive_or(kInHeartbeatIntervalMs, 1000) == config.heartbeat_interval_ms &&
           positive_or(kInSilenceHeartbeats, 3) == config.silence_heartbeats &&
           1000 * positive_or(kInKillDeadlineSeconds, 30) == config.kill_deadline_ms;
}

// ---- sc's persistent pointer --------------------------------------------------------------

// Sierra Chart keeps one void* per key for the study instance; it cannot own a C++ object,
// so the state is created with make_unique, released into the pointer, and taken back into
// a unique_ptr on the last call (or when the inputs change), which stops and joins the thread.
StudyState* state_of(SCStudyInterfaceRef sc) {
    return static_cast<StudyState*>(sc.GetPersistentPointer(kStatePointerKey));
}

void destroy_state(SCStudyInterfaceRef sc) {
    std::unique_ptr<StudyState> owned(state_of(sc));
    sc.SetPersistentPointer(kStatePointerKey, nullptr);
    // ~StudyState -> ~Shim: stop, close the sockets (linger), join the socket thread.
}

StudyState& create_state(SCStudyInterfaceRef sc, ShimConfig config) {
    auto owned = std::make_unique<StudyState>(std::move(config));
    owned->instrument_id = static_cast<std::uint32_t>(
        sc.Input[kInInstrumentId].GetInt() > 0 ? sc.Input[kInInstrumentId].GetInt() : 1);
    owned->shim->start();
    StudyState* state = owned.release();  // owned by sc's persistent pointer from here on
    sc.SetPersistentPointer(kStatePointerKey, state);
    const int button = sc.Input[kInKillButton].GetInt();
    if (button > 0) sc.SetCustomStudyControlBarButtonText(button, "TB KILL");
    return *state;
}

// ---- shim -> engine -----------------------------------------------------------------------

// What the engine's view of this shim depends on: a change sends a new Hello and
// InstrumentDefinition (the trader switched the chart's symbol or trade account, or
// trading between paper and live).
bool is_simulated(SCStudyInterfaceRef sc) {
    return sc.GlobalTradeSimulationIsOn || !sc.SendOrdersToTradeService;
}

// Compared at every call without allocating (the study's call is Sierra Chart's time).
bool same_hello_identity(SCStudyInterfaceRef sc, const HelloIdentity& seen) {
    return std::strcmp(sc.Symbol.GetChars(), seen.symbol.c_str()) == 0 &&
           std::strcmp(sc.SelectedTradeAccount.GetChars(), seen.account.c_str()) == 0 &&
           is_simulated(sc) == seen.simulated && sc.TickSize == seen.tick_size &&
           sc.CurrencyValuePerTick == seen.currency_per_tick;
}

HelloIdentity hello_identity(SCStudyInterfaceRef sc) {
    return {sc.Symbol.GetChars(), sc.SelectedTradeAccount.GetChars(), is_simulated(sc),
            sc.TickSize, sc.CurrencyValuePerTick};
}

void post_hello(SCStudyInterfaceRef sc, StudyState& state) {
    protocol::Hello hello{};
    hello.platform = static_cast<std::uint8_t>(tickbridge::Platform::SierraChart);
    // What Sierra Chart does with this study's orders: simulated unless they go to the
    // trade service (sc.SendOrdersToTradeService) with trade simulation off.
    hello.simulated = is_simulated(sc) ? 1 : 0;
    hello.heartbeat_interval_ms = state.shim->config().heartbeat_interval_ms;
    char version[32];
    // sc.VersionNumber() returns an SCString (the program's version, e.g. "2784").
    const SCString sc_version = sc.VersionNumber();
    std::snprintf(version, sizeof version, "Sierra Chart %s", sc_version.GetChars());
    (void)protocol::set_text(hello.platform_version, version);
    if (!protocol::set_text(hello.account, sc.SelectedTradeAccount.GetChars()))
        sc.AddMessageToLog("TickBridge: trade account name longer than 32 bytes", 1);
    state.shim->post(hello);

    protocol::InstrumentDefinition definition{};
    definition.header.instrument_id = state.instrument_id;
    definition.tick_size = decimal_tick_size(sc.TickSize);
    // CurrencyValuePerTick / TickSize: currency per 1.0 of price (ES: 12.5 / 0.25 = 50).
    definition.point_value =
        definition.tick_size > 0
            ? decimal_tick_size(sc.CurrencyValuePerTick) / definition.tick_size
            : 0.0;
    if (!protocol::set_text(definition.symbol, sc.Symbol.GetChars()))
        sc.AddMessageToLog("TickBridge: symbol longer than 32 bytes; not sent", 1);
    state.shim->post(definition);
    state.hello_posted = true;
    state.hello_identity = hello_identity(sc);
}

// With `forward` off the position in the buffer still moves on, so turning forwarding back
// on never sends a backlog of stale entries.
void forward_time_and_sales(SCStudyInterfaceRef sc, StudyState& state, bool forward) {
    c_SCTimeAndSalesArray entries;
    sc.GetTimeAndSales(entries);
    const int size = entries.Size();
    const std::uint32_t newest = size > 0 ? entries[size - 1].Sequence : 0;
    if (!forward) {
        state.last_time_and_sales_sequence = newest;
        return;
    }
    if (!state.time_and_sales_started) {
        // What the buffer holds at the first call is history from before the study
        // started (possibly nothing): forward what comes after it.
        state.time_and_sales_started = true;
        state.last_time_and_sales_sequence = newest;
        return;
    }
    if (size == 0 || newest == state.last_time_and_sales_sequence) return;
    if (newest < state.last_time_and_sales_sequence) {
        // Sierra Chart reset or wrapped its sequence numbers: everything held is new.
        sc.AddMessageToLog("TickBridge: time and sales sequence reset; forwarding from the start", 0);
        state.last_time_and_sales_sequence = 0;
    }
    // Walk back to the first entry after the last one forwarded (cost: the new entries only).
    int first = size;
    while (first > 0 && entries[first - 1].Sequence > state.last_time_and_sales_sequence) --first;
    const double multiplier = static_cast<double>(sc.RealTimePriceMultiplier);
    for (int i = first; i < size; ++i) {
        const s_TimeAndSales& entry = entries[i];
        const std::int64_t time_ns = sc_time_to_unix_ns(entry.DateTime);
        if (entry.Type == SC_TS_BID || entry.Type == SC_TS_ASK) {
            protocol::Trade trade{};
            trade.header.instrument_id = state.instrument_id;
            trade.time_ns = time_ns;
            trade.price = static_cast<double>(entry.Price) * multiplier;
            trade.size = entry.Volume;
            // SC_TS_ASK: traded at the ask, a buyer lifted it; SC_TS_BID: a seller hit the bid.
            trade.aggressor = static_cast<std::uint8_t>(entry.Type == SC_TS_ASK
                                                            ? tickbridge::Aggressor::Buy
                                                            : tickbridge::Aggressor::Sell);
            state.shim->post(trade);
        } else if (entry.Type == SC_TS_BIDASKVALUES) {
            protocol::Quote quote{};
            quote.header.instrument_id = state.instrument_id;
            quote.time_ns = time_ns;
            quote.bid_price = static_cast<double>(entry.Bid) * multiplier;
            quote.ask_price = static_cast<double>(entry.Ask) * multiplier;
            quote.bid_size = entry.BidSize;
            quote.ask_size = entry.AskSize;
            state.shim->post(quote);
        }
        // SC_TS_MARKER (a gap in Sierra Chart's own data) carries nothing to forward.
    }
    state.last_time_and_sales_sequence = newest;
}

void forward_depth_side(SCStudyInterfaceRef sc, StudyState& state, bool bid, int levels,
                        std::int64_t now) {
    DepthLevel* kept = bid ? state.bids : state.asks;
    const int available =
        bid ? sc.GetBidMarketDepthNumberOfLevels() : sc.GetAskMarketDepthNumberOfLevels();
    for (int level = 0; level < levels; ++level) {
        DepthLevel current;
        if (level < available) {
            s_MarketDepthEntry entry;
            if (bid) sc.GetBidMarketDepthEntryAtLevel(entry, level);
            else sc.GetAskMarketDepthEntryAtLevel(entry, level);
            // Like trade prices: Sierra Chart's Real-time Price Multiplier applies.
            current.price =
                static_cast<double>(entry.Price) * static_cast<double>(sc.RealTimePriceMultiplier);
            current.quantity = static_cast<double>(entry.Quantity);
        }
        if (current == kept[level]) continue;
        protocol::Depth depth{};
        depth.header.instrument_id = state.instrument_id;
        depth.time_ns = now;
        depth.level = static_cast<std::uint16_t>(level);
        depth.side = static_cast<std::uint8_t>(bid ? tickbridge::Side::Buy : tickbridge::Side::Sell);
        const bool gone = current.quantity <= 0;
        depth.action = gone ? 2 : 1;  // 2 delete, 1 insert/update
        depth.price = gone ? kept[level].price : current.price;
        depth.size = gone ? 0 : static_cast<std::uint32_t>(current.quantity);
        state.shim->post(depth);
        kept[level] = current;
    }
}

// Platform-made client order ids: the top bit set (the engine never makes one; it books
// their orders and fills as a flatten's, engine/flatten_orders.py), bit 62 clear, the low 30
// bits of the shim session that gave it, then a count: unique within the study instance and,
// but for a 2^-30 chance, across its restarts (the engine keys their fills by execution id).
constexpr std::uint64_t kPlatformMadeBit = std::uint64_t{1} << 63;
constexpr auto kFlattenWatch = std::chrono::seconds(5);

std::uint64_t platform_made_id(StudyState& state) {
    const std::uint64_t session = state.shim->session_id() & 0x3FFFFFFFu;
    return kPlatformMadeBit | (session << 32) | ++state.platform_orders;
}

// Whether `order`, seen for the first time and carrying no engine tag, is a closing order
// of the flatten being watched: a market order (Sierra Chart flattens at market), not an
// attached one, for the chart's symbol, on the side that closes the position the flatten
// found, and no more than what is left of that position to close. GetOrderByIndex lists
// the chart's symbol and trade account only. Not recognised: a closing order Sierra Chart
// reports later than kFlattenWatch after the call, or after the study was restarted (both
// stay external, id 0). Taken for one: an order the trader places by hand in those 5 s
// that has every property of a closing order (documented in acsil/README.md).
bool closes_for_flatten(SCStudyInterfaceRef sc, StudyState::FlattenWatch& watch,
                        const s_SCTradeOrder& order) {
    if (watch.position == 0 || std::chrono::steady_clock::now() >= watch.until) return false;
    const BuySellEnum closing = watch.position > 0 ? BSE_SELL : BSE_BUY;
    if (order.BuySell != closing || order.OrderTypeAsInt != SCT_ORDERTYPE_MARKET ||
        order.ParentInternalOrderID != 0 || order.OrderQuantity <= 0 ||
        watch.claimed + order.OrderQuantity > std::abs(watch.position))
        return false;
    if (order.Symbol.GetLength() > 0 && order.Symbol.CompareNoCase(sc.Symbol) != 0) return false;
    watch.claimed += order.OrderQuantity;
    if (watch.claimed >= std::abs(watch.position)) watch.position = 0;  // all of it: done
    return true;
}

protocol::OrderUpdate make_order_update(const StudyState& state, const s_SCTradeOrder& order) {
    protocol::OrderUpdate update{};
    update.header.instrument_id = state.instrument_id;
    const auto client = state.client_id_by_order.find(order.InternalOrderID);
    update.client_order_id =
        client != state.client_id_by_order.end()
            ? client->second
            : tickbridge::shim::client_order_id_from_tag(order.TextTag.GetChars());
    update.time_ns = utc_now_ns();
    update.order_type = to_order_type(order.OrderTypeAsInt);
    if (order.OrderTypeAsInt == SCT_ORDERTYPE_STOP) {
        update.stop_price = order.Price1;
    } else if (order.OrderTypeAsInt == SCT_ORDERTYPE_STOP_LIMIT) {
        update.stop_price = order.Price1;
        update.price = order.Price2;
    } else if (order.OrderTypeAsInt != SCT_ORDERTYPE_MARKET) {
        update.price = order.Price1;
    }
    update.quantity = std::llround(order.OrderQuantity);
    update.filled_quantity = std::llround(order.FilledQuantity);
    update.average_fill_price = order.AvgFillPrice;
    update.status = to_order_status(order);
    update.side = to_side(order.BuySell);
    const auto tif = state.time_in_force_by_client_id.find(update.client_order_id);
    update.time_in_force = tif != state.time_in_force_by_client_id.end() ? tif->second : 0;
    if (order.OrderStatusCode == SCT_OSC_ERROR)
        update.reason = static_cast<std::uint16_t>(RejectReason::PlatformRejected);
    char id[32];
    std::snprintf(id, sizeof id, "%u", static_cast<unsigned>(order.InternalOrderID));
    (void)protocol::set_text(update.platform_order_id, id);
    return update;
}

// Working and finished orders, read by index until Sierra Chart says there are no more;
// an OrderUpdate goes out whenever an order's state differs from what was last sent.
void forward_orders(SCStudyInterfaceRef sc, StudyState& state) {
    s_SCTradeOrder order;
    for (int index = 0; sc.GetOrderByIndex(index, order) != SCTRADING_ORDER_ERROR; ++index) {
        const OrderSeen seen{static_cast<int>(order.OrderStatusCode), order.OrderQuantity,
                             order.FilledQuantity, order.Price1, order.Price2, order.AvgFillPrice};
        auto [it, inserted] = state.orders_seen.try_emplace(order.InternalOrderID, seen);
        if (!inserted && it->second == seen) continue;
        it->second = seen;
        const std::uint64_t client_order_id =
            tickbridge::shim::client_order_id_from_tag(order.TextTag.GetChars());
        if (client_order_id != 0 && !state.client_id_by_order.count(order.InternalOrderID)) {
            // An engine order placed before this study instance started (chart reload).
            state.client_id_by_order[order.InternalOrderID] = client_order_id;
            state.order_by_client_id[client_order_id] = order.InternalOrderID;
        } else if (inserted && client_order_id == 0 &&
                   closes_for_flatten(sc, state.flatten_watch, order)) {
            // Not in order_by_client_id: the engine sends no command for it.
            state.client_id_by_order[order.InternalOrderID] = platform_made_id(state);
        }
        state.shim->post(make_order_update(state, order));
    }
}

// `occurrence`: how many fills before this one in the list have the same order, UTC time,
// quantity and price (two partial fills of one order in the same microsecond).
protocol::Fill make_fill(SCStudyInterfaceRef sc, const StudyState& state,
                         const s_SCOrderFillData& fill, int occurrence = 0) {
    protocol::Fill record{};
    record.header.instrument_id = state.instrument_id;
    const auto client = state.client_id_by_order.find(fill.InternalOrderID);
    record.client_order_id = client != state.client_id_by_order.end() ? client->second : 0;
    // Sierra Chart gives fill times in the chart's time zone: back to UTC.
    const std::int64_t utc_us =
        sc.ConvertDateTimeFromChartTimeZone(fill.FillDateTime, TIMEZONE_UTC)
            .ToUNIXTimeInMicroseconds();
    record.time_ns = utc_us * 1000;
    record.price = fill.FillPrice;
    record.quantity = std::llround(fill.Quantity);
    record.side = to_side(fill.BuySell);
    // The execution id is the engine's de-duplication key: never sent cut, never empty.
    if (!protocol::set_text(record.execution_id, fill.FillExecutionServiceID.GetChars()) ||
        fill.FillExecutionServiceID.GetLength() == 0) {
        // None from the service (simulation), or longer than 48 bytes: one stable id made
        // from the fill itself: its order, its UTC time in microseconds (not the chart's
        // time zone), quantity, price, and which of identical fills it is.
        char id[64];
        std::snprintf(id, sizeof id, "SC:%u:%lld:%g:%.10g:%d",
                      static_cast<unsigned>(fill.InternalOrderID), static_cast<long long>(utc_us),
                      fill.Quantity, fill.FillPrice, occurrence);
        if (!protocol::set_text(record.execution_id, id))
            (void)protocol::set_text(record.execution_id, std::string_view(id, 48));
    }
    char order_id[32];
    std::snprintf(order_id, sizeof order_id, "%u", static_cast<unsigned>(fill.InternalOrderID));
    (void)protocol::set_text(record.platform_order_id, order_id);
    return record;
}

// Fills that only an occurrence number tells apart share this key.
std::string fill_key(SCStudyInterfaceRef sc, const s_SCOrderFillData& fill) {
    const std::int64_t utc_us = sc.ConvertDateTimeFromChartTimeZone(fill.FillDateTime, TIMEZONE_UTC)
                                    .ToUNIXTimeInMicroseconds();
    char key[96];
    std::snprintf(key, sizeof key, "%u:%lld:%g:%.10g", static_cast<unsigned>(fill.InternalOrderID),
                  static_cast<long long>(utc_us), fill.Quantity, fill.FillPrice);
    return key;
}

// Fills are tracked by their execution id (a stable identity), not by their place in
// Sierra Chart's fill list, which it may rewrite (reorder, drop, insert): every fill whose
// id was not forwarded yet is forwarded, wherever it is in the list.
void forward_fills(SCStudyInterfaceRef sc, StudyState& state) {
    const int size = sc.GetOrderFillArraySize();
    const bool first = !state.fills_started;
    state.fills_started = true;
    std::unordered_map<std::string, int> occurrences;
    for (int index = 0; index < size; ++index) {
        s_SCOrderFillData fill;
        if (sc.GetOrderFillEntry(static_cast<unsigned>(index), fill) == 0) break;
        const int occurrence = occurrences[fill_key(sc, fill)]++;
        const protocol::Fill record = make_fill(sc, state, fill, occurrence);
        std::string id(protocol::get_text(record.execution_id));
        // First call: what the list holds is from before this study instance (snapshots
        // serve it), so it is only remembered.
        if (!state.fills_forwarded.insert(std::move(id)).second || first) continue;
        state.shim->post(record);
    }
}

protocol::Position make_position(const StudyState& state, const s_SCPositionData& position) {
    protocol::Position record{};
    record.header.instrument_id = state.instrument_id;
    record.time_ns = utc_now_ns();
    record.quantity = std::llround(position.PositionQuantity);
    record.average_price = position.AveragePrice;
    record.open_pnl = position.OpenProfitLoss;
    return record;
}

protocol::Account make_account(SCStudyInterfaceRef sc, const StudyState& state,
                               const s_SCPositionData& position) {
    protocol::Account record{};
    record.header.instrument_id = state.instrument_id;
    record.time_ns = utc_now_ns();
    record.cash_balance = sc.TradeServiceAccountBalance;
    record.realized_pnl = position.DailyProfitLoss;
    record.unrealized_pnl = position.OpenProfitLoss;
    record.net_liquidation = sc.TradeServiceAccountBalance + position.OpenProfitLoss;
    return record;
}

// Position when its quantity or average price changes; account values at most once a second.
void forward_position_and_account(SCStudyInterfaceRef sc, StudyState& state) {
    s_SCPositionData position;
    sc.GetTradePosition(position);
    if (position.PositionQuantity != state.position_quantity ||
        position.AveragePrice != state.position_average) {
        state.position_quantity = position.PositionQuantity;
        state.position_average = position.AveragePrice;
        state.shim->post(make_position(state, position));
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < state.next_account_check) return;
    state.next_account_check = now + std::chrono::seconds(1);
    const protocol::Account account = make_account(sc, state, position);
    const double values[4] = {account.cash_balance, account.realized_pnl, account.unrealized_pnl,
                              account.net_liquidation};
    if (std::equal(values, values + 4, state.account_seen)) return;
    std::copy(values, values + 4, state.account_seen);
    state.shim->post(account);
}

// ---- engine -> shim: commands -------------------------------------------------------------

void acknowledge(StudyState& state, RecordType command, std::uint64_t request_id,
                 std::uint64_t client_order_id) {
    protocol::CommandAck ack{};
    ack.header.instrument_id = state.instrument_id;
    ack.request_id = request_id;
    ack.client_order_id = client_order_id;
    ack.command_type = static_cast<std::uint16_t>(command);
    state.shim->post(ack);
}

void reject(StudyState& state, RecordType command, std::uint64_t request_id,
            std::uint64_t client_order_id, RejectReason reason, const char* text) {
    protocol::CommandReject record{};
    record.header.instrument_id = state.instrument_id;
    record.request_id = request_id;
    record.client_order_id = client_order_id;
    record.command_type = static_cast<std::uint16_t>(command);
    record.reason = static_cast<std::uint16_t>(reason);
    std::string_view words(text);
    (void)protocol::set_text(record.text, words.substr(0, sizeof record.text));
    state.shim->post(record);
    state.last_error = text;
    // For Sierra Chart's log at the end of this call (drain_log): the command, its request
    // id, the reason number and text. A run of the same refusal is logged once.
    char line[192];
    std::snprintf(line, sizeof line, "%s refused (reason %u): %s",
                  std::string(protocol::record_type_name(command)).c_str(),
                  static_cast<unsigned>(reason), text);
    if (state.last_reject_logged != line) {
        state.last_reject_logged = line;
        char numbered[256];
        std::snprintf(numbered, sizeof numbered, "TickBridge: request %llu: %s",
                      static_cast<unsigned long long>(request_id), line);
        state.rejects_to_log.emplace_back(numbered);
    }
}

// Every refusal goes to Sierra Chart's log (Window >> Message Log); the same reason twice
// in a row once, so a stream of refused orders does not flood it.
void log_refusal(SCStudyInterfaceRef sc, StudyState& state, const char* why) {
    state.last_error = why;
    if (state.last_refusal_logged == why) return;
    state.last_refusal_logged = why;
    SCString message;
    message.Format("TickBridge: order refused: %s", why);
    sc.AddMessageToLog(message, 1);
}

// The answer to CancelAll / Flatten / Cancel from Sierra Chart's result.
void answer_platform_result(SCStudyInterfaceRef sc, StudyState& state, RecordType type,
                            std::uint64_t request_id, std::uint64_t client_order_id,
                            int result) {
    if (result > 0) {
        acknowledge(state, type, request_id, client_order_id);
        return;
    }
    reject(state, type, request_id, client_order_id,
           skipped_for_now(result) ? RejectReason::PlatformBusy : RejectReason::PlatformRejected,
           sc.GetTradingErrorTextMessage(result));
}

// Why this study may not trade now, or nullptr. The "Live trading" input must agree with
// Sierra Chart's trade simulation mode (Trade >> Trade Simulation Mode On), and auto
// trading must be on (Trade >> Auto Trading Enabled - Global and - Chart): with it off
// Sierra Chart skips every order, so the engine is told at once rather than per order.
const char* trading_refused(SCStudyInterfaceRef sc) {
    const bool live = sc.Input[kInLiveTrading].GetYesNo() != 0;
    if (live && sc.GlobalTradeSimulationIsOn)
        return "live input is Yes but Sierra Chart is in Trade Simulation Mode";
    if (!live && !sc.GlobalTradeSimulationIsOn)
        return "live input is No but Trade Simulation Mode is off";
    if (!sc.IsAutoTradingEnabled) return "auto trading is off in Sierra Chart (Trade menu)";
    return nullptr;
}

bool platform_busy(SCStudyInterfaceRef sc) {
    // Sierra Chart skips orders during a full recalculation and a historical download.
    return sc.IsFullRecalculation != 0 || sc.DownloadingHistoricalData != 0;
}

// The platform order for an engine client order id: the study's map, else the order list
// (an order placed before this study instance started carries the id in its text tag).
bool find_order(SCStudyInterfaceRef sc, StudyState& state, std::uint64_t client_order_id,
                s_SCTradeOrder& order) {
    const auto known = state.order_by_client_id.find(client_order_id);
    if (known != state.order_by_client_id.end())
        return sc.GetOrderByOrderID(known->second, order) != SCTRADING_ORDER_ERROR;
    for (int index = 0; sc.GetOrderByIndex(index, order) != SCTRADING_ORDER_ERROR; ++index) {
        if (tickbridge::shim::client_order_id_from_tag(order.TextTag.GetChars()) ==
            client_order_id) {
            state.order_by_client_id[client_order_id] = order.InternalOrderID;
            state.client_id_by_order[order.InternalOrderID] = client_order_id;
            return true;
        }
    }
    return false;
}

void on_submit(SCStudyInterfaceRef sc, StudyState& state, const protocol::Submit& submit) {
    const RecordType type = RecordType::Submit;
    s_SCTradeOrder existing;
    if (find_order(sc, state, submit.client_order_id, existing)) {
        // A retried submit: place nothing, answer with the order as it stands.
        acknowledge(state, type, submit.request_id, submit.client_order_id);
        state.shim->post(make_order_update(state, existing));
        return;
    }
    if (const char* refused = trading_refused(sc)) {
        reject(state, type, submit.request_id, submit.client_order_id,
               RejectReason::PlatformRejected, refused);
        log_refusal(sc, state, refused);
        return;
    }
    if (platform_busy(sc)) {
        reject(state, type, submit.request_id, submit.client_order_id, RejectReason::PlatformBusy,
               "Sierra Chart is recalculating or downloading history; resubmit");
        return;
    }
    if (submit.quantity <= 0) {
        reject(state, type, submit.request_id, submit.client_order_id,
               RejectReason::InvalidQuantity, "quantity must be positive");
        return;
    }
    {
        // Sierra Chart would cut an entry that takes the position past MaximumPositionAllowed
        // (set far out of the way in apply_trade_settings): refuse it whole instead.
        s_SCPositionData position;
        sc.GetTradePosition(position);
        const double signed_quantity = static_cast<double>(submit.quantity) *
            (submit.side == static_cast<std::uint8_t>(tickbridge::Side::Sell) ? -1.0 : 1.0);
        if (std::fabs(position.PositionQuantity + signed_quantity) > sc.MaximumPositionAllowed) {
            reject(state, type, submit.request_id, submit.client_order_id,
                   RejectReason::InvalidQuantity,
                   "the position would exceed Sierra Chart's MaximumPositionAllowed");
            return;
        }
    }
    s_SCNewOrder order;
    order.OrderQuantity = static_cast<double>(submit.quantity);  // Sierra Chart's double
    switch (static_cast<tickbridge::OrderType>(submit.order_type)) {
        case tickbridge::OrderType::Market: order.OrderType = SCT_ORDERTYPE_MARKET; break;
        case tickbridge::OrderType::Limit:
            order.OrderType = SCT_ORDERTYPE_LIMIT;
            order.Price1 = submit.price;
            break;
        case tickbridge::OrderType::Stop:
            order.OrderType = SCT_ORDERTYPE_STOP;
            order.Price1 = submit.stop_price;
            break;
        case tickbridge::OrderType::StopLimit:
            order.OrderType = SCT_ORDERTYPE_STOP_LIMIT;
            order.Price1 = submit.stop_price;  // trigger
            order.Price2 = submit.price;       // limit
            break;
        default:
            reject(state, type, submit.request_id, submit.client_order_id, RejectReason::Malformed,
                   "unknown order type");
            return;
    }
    switch (static_cast<tickbridge::TimeInForce>(submit.time_in_force)) {
        case tickbridge::TimeInForce::Day: order.TimeInForce = SCT_TIF_DAY; break;
        case tickbridge::TimeInForce::Gtc: order.TimeInForce = SCT_TIF_GOOD_TILL_CANCELED; break;
        case tickbridge::TimeInForce::Ioc: order.TimeInForce = SCT_TIF_IMMEDIATE_OR_CANCEL; break;
        default:
            reject(state, type, submit.request_id, submit.client_order_id,
                   RejectReason::PlatformRejected, "time in force not supported by this study");
            return;
    }
    const std::string tag = tickbridge::shim::client_order_id_to_tag(submit.client_order_id);
    order.TextTag = tag.c_str();
    double result = 0;
    if (submit.side == static_cast<std::uint8_t>(tickbridge::Side::Buy)) {
        result = sc.BuyOrder(order, sc.ArraySize - 1);
    } else if (submit.side == static_cast<std::uint8_t>(tickbridge::Side::Sell)) {
        result = sc.SellOrder(order, sc.ArraySize - 1);
    } else {
        reject(state, type, submit.request_id, submit.client_order_id, RejectReason::Malformed,
               "side must be 1 (buy) or 2 (sell)");
        return;
    }
    if (result > 0 && order.InternalOrderID != 0) {
        state.order_by_client_id[submit.client_order_id] = order.InternalOrderID;
        state.client_id_by_order[order.InternalOrderID] = submit.client_order_id;
        state.time_in_force_by_client_id[submit.client_order_id] = submit.time_in_force;
        acknowledge(state, type, submit.request_id, submit.client_order_id);
        return;
    }
    const int error = static_cast<int>(result);
    const bool skipped = error == SCT_SKIPPED_FULL_RECALC ||
                         error == SCT_SKIPPED_DOWNLOADING_HISTORICAL_DATA;
    reject(state, type, submit.request_id, submit.client_order_id,
           skipped ? RejectReason::PlatformBusy : RejectReason::PlatformRejected,
           sc.GetTradingErrorTextMessage(error));
}

void on_cancel(SCStudyInterfaceRef sc, StudyState& state, const protocol::Cancel& cancel) {
    s_SCTradeOrder order;
    if (!find_order(sc, state, cancel.client_order_id, order)) {
        reject(state, RecordType::Cancel, cancel.request_id, cancel.client_order_id,
               RejectReason::UnknownOrder, "no order with this client order id");
        return;
    }
    if (!IsWorkingOrderStatus(order.OrderStatusCode)) {
        reject(state, RecordType::Cancel, cancel.request_id, cancel.client_order_id,
               RejectReason::TooLateToCancel, "order is no longer working");
        return;
    }
    // A cancel Sierra Chart skips (full recalculation) is PlatformBusy: the engine resends.
    answer_platform_result(sc, state, RecordType::Cancel, cancel.request_id,
                           cancel.client_order_id, sc.CancelOrder(order.InternalOrderID));
}

void on_replace(SCStudyInterfaceRef sc, StudyState& state, const protocol::Replace& replace) {
    const RecordType type = RecordType::Replace;
    s_SCTradeOrder order;
    if (!find_order(sc, state, replace.client_order_id, order)) {
        reject(state, type, replace.request_id, replace.client_order_id,
               RejectReason::UnknownOrder, "no order with this client order id");
        return;
    }
    if (const char* refused = trading_refused(sc)) {
        reject(state, type, replace.request_id, replace.client_order_id,
               RejectReason::PlatformRejected, refused);
        log_refusal(sc, state, refused);
        return;
    }
    if (platform_busy(sc)) {
        reject(state, type, replace.request_id, replace.client_order_id,
               RejectReason::PlatformBusy,
               "Sierra Chart is recalculating or downloading history; resend");
        return;
    }
    if (!IsWorkingOrderStatus(order.OrderStatusCode)) {
        reject(state, type, replace.request_id, replace.client_order_id,
               RejectReason::TooLateToCancel, "order is no longer working");
        return;
    }
    if (replace.quantity <= 0 || static_cast<double>(replace.quantity) < order.FilledQuantity) {
        reject(state, type, replace.request_id, replace.client_order_id,
               RejectReason::InvalidQuantity, "new quantity below the filled quantity");
        return;
    }
    // A modify names the existing order by InternalOrderID with the new quantity and prices.
    s_SCNewOrder modification;
    modification.InternalOrderID = order.InternalOrderID;
    modification.OrderQuantity = static_cast<double>(replace.quantity);
    if (order.OrderTypeAsInt == SCT_ORDERTYPE_STOP) {
        modification.Price1 = replace.stop_price;
    } else if (order.OrderTypeAsInt == SCT_ORDERTYPE_STOP_LIMIT) {
        modification.Price1 = replace.stop_price;
        modification.Price2 = replace.price;
    } else if (order.OrderTypeAsInt != SCT_ORDERTYPE_MARKET) {
        modification.Price1 = replace.price;
    }
    const int result = sc.ModifyOrder(modification);
    if (result <= 0) {
        reject(state, type, replace.request_id, replace.client_order_id,
               RejectReason::PlatformRejected, sc.GetTradingErrorTextMessage(result));
        return;
    }
    acknowledge(state, type, replace.request_id, replace.client_order_id);
}

void on_snapshot(SCStudyInterfaceRef sc, StudyState& state,
                 const protocol::SnapshotRequest& request) {
    acknowledge(state, RecordType::SnapshotRequest, request.request_id, 0);
    protocol::SnapshotBoundary boundary{};
    boundary.header.instrument_id = state.instrument_id;
    boundary.request_id = request.request_id;
    boundary.phase = 1;
    state.shim->post(boundary);
    std::uint32_t count = 0;
    if (request.what & protocol::kSnapshotOrders) {
        s_SCTradeOrder order;
        for (int index = 0; sc.GetOrderByIndex(index, order) != SCTRADING_ORDER_ERROR; ++index) {
            if (!IsWorkingOrderStatus(order.OrderStatusCode)) continue;
            state.shim->post(make_order_update(state, order));
            ++count;
        }
    }
    s_SCPositionData position;
    sc.GetTradePosition(position);
    if (request.what & protocol::kSnapshotPositions) {
        state.shim->post(make_position(state, position));
        ++count;
    }
    if (request.what & protocol::kSnapshotFills) {
        const int size = sc.GetOrderFillArraySize();
        std::unordered_map<std::string, int> occurrences;
        for (int index = 0; index < size; ++index) {
            s_SCOrderFillData fill;
            if (sc.GetOrderFillEntry(static_cast<unsigned>(index), fill) == 0) break;
            const protocol::Fill record =
                make_fill(sc, state, fill, occurrences[fill_key(sc, fill)]++);
            if (record.time_ns < request.fills_since_ns) continue;
            state.shim->post(record);
            ++count;
        }
    }
    if (request.what & protocol::kSnapshotAccount) {
        state.shim->post(make_account(sc, state, position));
        ++count;
    }
    boundary.phase = 2;
    boundary.record_count = count;
    state.shim->post(boundary);
}

std::chrono::steady_clock::time_point kill_give_up(SCStudyInterfaceRef sc) {
    const int seconds = sc.Input[kInKillDeadlineSeconds].GetInt();
    return std::chrono::steady_clock::now() + std::chrono::seconds(seconds > 0 ? seconds : 30);
}

// Cancel-on-disconnect: this shim's own working orders (those carrying an engine client
// order id), not orders the trader placed by hand on the same account. Each CancelOrder's
// result is counted; one Sierra Chart skips for now (full recalculation, auto trading off)
// is tried again at every call until the kill deadline; the log says what was done once
// every one has an outcome.
void cancel_engine_orders(SCStudyInterfaceRef sc, StudyState& state) {
    StudyState::DisconnectCancels& run = state.disconnect_cancels;
    s_SCTradeOrder order;
    for (int index = 0; sc.GetOrderByIndex(index, order) != SCTRADING_ORDER_ERROR; ++index) {
        if (!IsWorkingOrderStatus(order.OrderStatusCode) ||
            tickbridge::shim::client_order_id_from_tag(order.TextTag.GetChars()) == 0)
            continue;
        const std::uint32_t id = static_cast<std::uint32_t>(order.InternalOrderID);
        if (std::find(run.order_ids.begin(), run.order_ids.end(), id) != run.order_ids.end())
            continue;
        run.order_ids.push_back(id);
        ++run.total;
    }
    run.give_up = kill_give_up(sc);
    if (run.total == 0) sc.AddMessageToLog("TickBridge: engine silent; no engine working orders", 1);
}

void run_disconnect_cancels(SCStudyInterfaceRef sc, StudyState& state) {
    StudyState::DisconnectCancels& run = state.disconnect_cancels;
    if (run.order_ids.empty()) return;
    const bool past_deadline = std::chrono::steady_clock::now() >= run.give_up;
    int skipped_result = 0;
    for (std::size_t i = 0; i < run.order_ids.size();) {
        const std::uint32_t id = run.order_ids[i];
        s_SCTradeOrder order;
        if (sc.GetOrderByOrderID(id, order) == SCTRADING_ORDER_ERROR ||
            !IsWorkingOrderStatus(order.OrderStatusCode)) {
            ++run.gone;  // filled or canceled meanwhile: nothing left to cancel
        } else {
            const int result = sc.CancelOrder(id);
            if (result > 0) {
                ++run.canceled;
            } else if (skipped_for_now(result) && !past_deadline) {
                skipped_result = result;
                ++i;
                continue;
            } else {
                ++run.refused;
                run.last_error = result;
            }
        }
        run.order_ids.erase(run.order_ids.begin() + static_cast<std::ptrdiff_t>(i));
    }
    char message[320];
    if (!run.order_ids.empty()) {
        if (!run.skip_logged) {
            run.skip_logged = true;
            std::snprintf(message, sizeof message,
                          "TickBridge: engine silent; %zu engine working orders NOT canceled "
                          "yet: %s; trying again at every chart update",
                          run.order_ids.size(), sc.GetTradingErrorTextMessage(skipped_result));
            sc.AddMessageToLog(message, 1);
        }
        return;
    }
    if (run.refused == 0) {
        std::snprintf(message, sizeof message,
                      "TickBridge: engine silent; canceled %zu of %zu engine working orders "
                      "(%zu no longer working)",
                      run.canceled, run.total, run.gone);
    } else {
        std::snprintf(message, sizeof message,
                      "TickBridge: engine silent; canceled %zu of %zu engine working orders, "
                      "%zu REFUSED by Sierra Chart (%d: %s)",
                      run.canceled, run.total, run.refused, run.last_error,
                      sc.GetTradingErrorTextMessage(run.last_error));
        state.last_error = "cancel on disconnect: " + std::to_string(run.refused) + " refused";
    }
    sc.AddMessageToLog(message, 1);
    run = StudyState::DisconnectCancels{};
}

// FlattenAndCancelAllOrders, watching for the closing orders Sierra Chart places for it.
// The orders already there are read first, so none of them (one placed by hand a moment
// ago) is taken for a closing order; the orders after the call are read at once (a closing
// order placed during the call) and at every call for kFlattenWatch (closes_for_flatten).
int flatten_and_cancel_all(SCStudyInterfaceRef sc, StudyState& state) {
    forward_orders(sc, state);
    s_SCPositionData position;
    sc.GetTradePosition(position);
    const int result = sc.FlattenAndCancelAllOrders();
    if (result > 0 && position.PositionQuantity != 0) {
        state.flatten_watch.position = position.PositionQuantity;
        state.flatten_watch.claimed = 0;
        state.flatten_watch.until = std::chrono::steady_clock::now() + kFlattenWatch;
    }
    forward_orders(sc, state);
    return result;
}

// One try of a kill: Sierra Chart's result, > 0 when it acted.
int try_kill(SCStudyInterfaceRef sc, StudyState& state, bool flatten) {
    return flatten ? flatten_and_cancel_all(sc, state) : sc.CancelAllOrders();
}

// Runs the kills that are due (new and pending). A kill is logged and answered as done
// only when Sierra Chart's call says it acted (its return value > 0); one skipped for now
// is tried again at every call until the kill deadline, then reported failed, as is one
// Sierra Chart refused. The engine's and the kill endpoint's are answered by the socket
// thread (finish_kill), which also reports one never run by the deadline.
void run_kills(SCStudyInterfaceRef sc, StudyState& state) {
    const auto now = std::chrono::steady_clock::now();
    auto& kills = state.pending_kills;
    for (std::size_t i = 0; i < kills.size();) {
        StudyState::PendingKill& kill = kills[i];
        char message[256];
        if (!state.shim->claim_kill(kill.ticket)) {
            // Its deadline passed and its requester has been told it failed: not run now.
            std::snprintf(message, sizeof message,
                          "TickBridge: KILL from %s NOT run: not done by its deadline and "
                          "reported failed; act by hand",
                          kill.source);
            sc.AddMessageToLog(message, 1);
            state.last_error = std::string("KILL from ") + kill.source + " not run";
            kills.erase(kills.begin() + static_cast<std::ptrdiff_t>(i));
            continue;
        }
        const int result = try_kill(sc, state, kill.flatten);
        const char* what = kill.flatten ? "FlattenAndCancelAllOrders" : "CancelAllOrders";
        if (result > 0) {
            std::snprintf(message, sizeof message, "TickBridge: KILL from %s: done (%s returned %d)",
                          kill.source, what, result);
            sc.AddMessageToLog(message, 1);
            state.shim->finish_kill(kill.ticket, true, RejectReason::PlatformRejected, "");
        } else if (skipped_for_now(result) &&
                   (kill.ticket.generation != 0 || now < kill.give_up)) {
            state.shim->release_kill(kill.ticket, result);
            if (result != kill.last_result) {
                std::snprintf(message, sizeof message,
                              "TickBridge: KILL from %s NOT done yet: %s: %s; trying again at "
                              "every chart update",
                              kill.source, what, sc.GetTradingErrorTextMessage(result));
                sc.AddMessageToLog(message, 1);
            }
            kill.last_result = result;
            ++i;
            continue;
        } else {
            std::snprintf(message, sizeof message,
                          "TickBridge: KILL from %s FAILED: %s returned %d (%s); act by hand",
                          kill.source, what, result, sc.GetTradingErrorTextMessage(result));
            sc.AddMessageToLog(message, 1);
            state.last_error = std::string("KILL from ") + kill.source + " failed";
            char text[192];  // the answer keeps its first 63 bytes
            std::snprintf(text, sizeof text, "%s returned %d: %s", what, result,
                          sc.GetTradingErrorTextMessage(result));
            state.shim->finish_kill(kill.ticket, false,
                                    skipped_for_now(result) ? RejectReason::PlatformBusy
                                                            : RejectReason::PlatformRejected,
                                    text);
        }
        kills.erase(kills.begin() + static_cast<std::ptrdiff_t>(i));
    }
}

void queue_kill(SCStudyInterfaceRef sc, StudyState& state, bool flatten, KillTicket ticket,
                const char* source) {
    StudyState::PendingKill kill;
    kill.flatten = flatten;
    kill.ticket = ticket;
    kill.source = source;
    kill.give_up = kill_give_up(sc);
    state.pending_kills.push_back(kill);
}

void execute_commands(SCStudyInterfaceRef sc, StudyState& state) {
    CommandSlot command;
    while (state.shim->next_command(command)) {
        if (command.origin == CommandOrigin::EngineSilence) {
            cancel_engine_orders(sc, state);
            continue;
        }
        switch (command.type()) {
            case RecordType::Submit: on_submit(sc, state, command.as<protocol::Submit>()); break;
            case RecordType::Cancel: on_cancel(sc, state, command.as<protocol::Cancel>()); break;
            case RecordType::Replace: on_replace(sc, state, command.as<protocol::Replace>()); break;
            case RecordType::CancelAll:
                answer_platform_result(sc, state, RecordType::CancelAll,
                                       command.as<protocol::CancelAll>().request_id, 0,
                                       sc.CancelAllOrders());
                break;
            case RecordType::Flatten:
                answer_platform_result(sc, state, RecordType::Flatten,
                                       command.as<protocol::Flatten>().request_id, 0,
                                       flatten_and_cancel_all(sc, state));
                break;
            case RecordType::SnapshotRequest:
                on_snapshot(sc, state, command.as<protocol::SnapshotRequest>());
                break;
            case RecordType::Kill: {
                const auto kill = command.as<protocol::Kill>();
                const bool from_endpoint = command.origin == CommandOrigin::KillEndpoint;
                // Answered (by the socket thread) once Sierra Chart's call has returned.
                queue_kill(sc, state, kill.flatten != 0, command.ticket(),
                           from_endpoint ? "kill endpoint" : "engine");
                break;
            }
            default: break;  // the socket thread passes commands only
        }
    }
    run_kills(sc, state);
    run_disconnect_cancels(sc, state);
}

// The engine's TradingState records since the last call: the latest is shown.
void take_trading_states(StudyState& state) {
    protocol::TradingState record;
    while (state.shim->next_trading_state(record)) {
        state.trading_state = record.state;
        state.trading_reason.assign(protocol::get_text(record.reason));
        ++state.trading_state_version;
    }
}

// PlatformStatus from Sierra Chart's connection state. sierrachart.h (2784) has one:
//   int ServerConnectionState = 0;  // ServerConnectionStateEnum
// and scconstants.h: "Server connection state constants. These relate to File >> Connect
// to Data Feed." (SCS_DISCONNECTED 0, SCS_CONNECTING 1, SCS_CONNECTED 2,
// SCS_CONNECTION_LOST 3, SCS_DISCONNECTING 4, SCS_RECONNECTING 5). The headers expose no
// separate trade-service state: live orders go over that same connection, so `orders`
// follows it when trading live; paper orders go to Sierra Chart's own Trade Simulation
// System, which needs no connection (`orders` CONNECTED). Sent after every Hello and on
// every change; the socket thread repeats the latest with every repeated Hello.
std::uint8_t connection_state(int server_connection_state) {
    using tickbridge::ConnectionState;
    switch (server_connection_state) {
        case SCS_CONNECTED: return static_cast<std::uint8_t>(ConnectionState::Connected);
        case SCS_CONNECTING:
        case SCS_RECONNECTING: return static_cast<std::uint8_t>(ConnectionState::Connecting);
        case SCS_CONNECTION_LOST: return static_cast<std::uint8_t>(ConnectionState::ConnectionLost);
        case SCS_DISCONNECTED:
        case SCS_DISCONNECTING: return static_cast<std::uint8_t>(ConnectionState::Disconnected);
        default: return static_cast<std::uint8_t>(ConnectionState::Unknown);
    }
}

void post_platform_status(SCStudyInterfaceRef sc, StudyState& state) {
    const bool simulated = is_simulated(sc);
    const int key = sc.ServerConnectionState * 2 + (simulated ? 1 : 0);
    if (key == state.platform_status_sent) return;
    state.platform_status_sent = key;
    protocol::PlatformStatus status{};
    status.time_ns = utc_now_ns();
    status.prices = connection_state(sc.ServerConnectionState);
    status.orders = simulated ? static_cast<std::uint8_t>(tickbridge::ConnectionState::Connected)
                              : status.prices;
    static const char* const kNames[] = {"DISCONNECTED", "CONNECTING",    "CONNECTED",
                                         "CONNECTION_LOST", "DISCONNECTING", "RECONNECTING"};
    const int n = sc.ServerConnectionState;
    char text[48];
    std::snprintf(text, sizeof text, "data feed %s%s", n >= 0 && n <= 5 ? kNames[n] : "?",
                  simulated ? "; orders: Trade Simulation" : "");
    (void)protocol::set_text(status.text, text);
    state.shim->post(status);
}

// One line of text at the top left of the chart: link up or down, paper or live, whether
// this study may trade now (and why not), kills pending, the last error. Redrawn only when
// it changes. (The engine's own halt state is not in protocol v1; the engine reports it.)
void draw_status(SCStudyInterfaceRef sc, StudyState& state) {
    const tickbridge::shim::ShimStats stats = state.shim->stats();
    const bool live = sc.Input[kInLiveTrading].GetYesNo() != 0;
    const char* refused = trading_refused(sc);
    // What the line shows, compared without building it (the usual call changes nothing).
    const StudyState::StatusKey key{stats.engine_alive, live, refused,
                                    !state.pending_kills.empty(),
                                    !state.disconnect_cancels.order_ids.empty(),
                                    state.trading_state_version, state.last_error.size(),
                                    state.last_error.empty() ? '\0' : state.last_error[0]};
    if (state.status_drawn_once && key == state.status_key) return;
    state.status_drawn_once = true;
    state.status_key = key;
    std::string text = "TickBridge: engine ";
    text += stats.engine_alive ? "UP" : "DOWN";
    text += live ? " | LIVE" : " | paper";
    // The engine's own state for this account (TradingState), as the engine last said it.
    switch (state.trading_state) {
        case 0: text += " | engine: ACTIVE"; break;
        case 1: text += " | engine: REDUCING-ONLY"; break;
        case 2: text += " | engine: HALTED"; break;
        case -1: text += " | engine state unknown"; break;
        default: text += " | engine state " + std::to_string(state.trading_state); break;
    }
    if (state.trading_state > 0 && !state.trading_reason.empty())
        text += " (" + state.trading_reason + ")";
    text += refused != nullptr ? std::string(" | NOT TRADING: ") + refused : " | trading";
    if (!state.pending_kills.empty()) text += " | KILL PENDING";
    if (!state.disconnect_cancels.order_ids.empty()) text += " | CANCELS PENDING";
    if (!state.last_error.empty()) text += " | last error: " + state.last_error;
    if (text == state.status_drawn) return;
    state.status_drawn = text;
    s_UseTool tool;
    tool.ChartNumber = sc.ChartNumber;
    tool.DrawingType = DRAWING_TEXT;
    tool.LineNumber = kStatusLineNumber;
    tool.AddMethod = UTAM_ADD_OR_ADJUST;
    tool.Region = 0;
    tool.BeginDateTime = 2;  // percent of the chart's width, with UseRelativeVerticalValues
    tool.BeginValue = 98;    // percent of the region's height
    tool.UseRelativeVerticalValues = 1;
    tool.FontSize = 10;
    tool.FontBold = 1;
    tool.Color = refused != nullptr || !stats.engine_alive || state.trading_state == 2
                     ? RGB(220, 0, 0)
                     : (state.trading_state == 1 ? RGB(200, 120, 0) : RGB(0, 140, 0));
    tool.Text = text.c_str();
    sc.UseTool(tool);
}

void drain_log(SCStudyInterfaceRef sc, StudyState& state) {
    tickbridge::shim::LogLine line;
    while (state.shim->next_log(line)) sc.AddMessageToLog(line.text, line.is_error ? 1 : 0);
    for (const std::string& refused : state.rejects_to_log) sc.AddMessageToLog(refused.c_str(), 0);
    state.rejects_to_log.clear();
}

// Sierra Chart's auto-trade management, switched off so that the order the engine sent is
// the order Sierra Chart works (acsil/README.md, "What Sierra Chart does with an order"):
// sc.BuyOrder / sc.SellOrder are entries, and with these settings an entry against a
// position is an order of its own quantity (no reversal), entries in the same direction,
// with working orders and several per bar are allowed, nothing is canceled as a side
// effect, and no attached orders are added. Set at every call: nothing else may change them.
void apply_trade_settings(SCStudyInterfaceRef sc) {
    sc.SupportReversals = 0;
    sc.AllowOppositeEntryWithOpposingPositionOrOrders = 1;
    sc.AllowMultipleEntriesInSameDirection = 1;
    sc.AllowEntryWithWorkingOrders = 1;
    sc.SupportAttachedOrdersForTrading = 0;
    sc.CancelAllOrdersOnEntriesAndReversals = 0;
    sc.CancelAllOrdersOnEntries = 0;
    sc.CancelAllOrdersOnReversals = 0;
    sc.CancelAllWorkingOrdersOnExit = 0;
    sc.AllowOnlyOneTradePerBar = 0;
    sc.MaximumPositionAllowed = 1e9;  // limits are the engine's risk layer; see on_submit
    // Paper or live, from the study input: Sierra Chart sends the orders to the trade
    // service only when this is 1 (its default, 0, simulates them).
    sc.SendOrdersToTradeService = sc.Input[kInLiveTrading].GetYesNo() != 0 ? 1 : 0;
}

void set_defaults(SCStudyInterfaceRef sc) {
    sc.GraphName = "TickBridge";
    sc.StudyDescription = "Bridges this chart's symbol and trade account to the tickbridge engine.";
    sc.AutoLoop = 0;
    sc.UpdateAlways = 1;  // called at every chart update, so commands run without new data
    sc.GraphRegion = 0;
    sc.MaintainTradeStatisticsAndTradesData = 1;  // fills need trade data kept
    apply_trade_settings(sc);

    sc.Input[kInEngineEndpoint].Name = "Engine endpoint";
    sc.Input[kInEngineEndpoint].SetString("tcp://127.0.0.1:5555");
    // Closed by default: no port is bound until the trader names one (each chart its own,
    // e.g. tcp://127.0.0.1:5556, 5557, ...; a taken port is logged, never shared).
    sc.Input[kInKillEndpoint].Name = "Kill endpoint (bound here; empty: none)";
    sc.Input[kInKillEndpoint].SetString("");
    sc.Input[kInKillSecret].Name = "Kill secret (at most 32 characters)";
    sc.Input[kInKillSecret].SetString("");
    sc.Input[kInCancelOnDisconnect].Name = "Cancel engine orders when the engine goes silent";
    sc.Input[kInCancelOnDisconnect].SetYesNo(1);
    sc.Input[kInHeartbeatIntervalMs].Name = "Heartbeat interval (ms)";
    sc.Input[kInHeartbeatIntervalMs].SetInt(1000);
    sc.Input[kInSilenceHeartbeats].Name = "Engine silent after this many heartbeat intervals";
    sc.Input[kInSilenceHeartbeats].SetInt(3);
    sc.Input[kInForwardTimeAndSales].Name = "Forward time and sales";
    sc.Input[kInForwardTimeAndSales].SetYesNo(1);
    sc.Input[kInForwardDepth].Name = "Forward market depth";
    sc.Input[kInForwardDepth].SetYesNo(0);
    sc.Input[kInDepthLevels].Name = "Market depth levels";
    sc.Input[kInDepthLevels].SetInt(5);
    sc.Input[kInKillButton].Name = "Kill switch control bar button (0: none)";
    sc.Input[kInKillButton].SetInt(1);
    sc.Input[kInKillButtonFlattens].Name = "Kill switch button also flattens";
    sc.Input[kInKillButtonFlattens].SetYesNo(1);
    sc.Input[kInInstrumentId].Name = "Instrument id sent to the engine";
    sc.Input[kInInstrumentId].SetInt(1);
    // CURVE (docs/security.md, acsil/README.md): both empty, a plain loopback connection.
    sc.Input[kInCurveServerKey].Name = "CURVE engine public key (z85, or its .key file)";
    sc.Input[kInCurveServerKey].SetString("");
    sc.Input[kInCurveClientKey].Name = "CURVE shim key file (NAME.key_secret; or z85 secret)";
    sc.Input[kInCurveClientKey].SetString("");
    sc.Input[kInLiveTrading].Name = "Live trading (No: paper, Trade Simulation Mode)";
    sc.Input[kInLiveTrading].SetYesNo(0);
    sc.Input[kInKillDeadlineSeconds].Name = "Kill deadline (seconds)";
    sc.Input[kInKillDeadlineSeconds].SetInt(30);

    sc.Input[kInHeartbeatIntervalMs].SetIntLimits(50, 60000);
    sc.Input[kInSilenceHeartbeats].SetIntLimits(2, 100);
    sc.Input[kInDepthLevels].SetIntLimits(0, static_cast<int>(kMaxDepthLevels));
    sc.Input[kInKillButton].SetIntLimits(0, 150);
    sc.Input[kInInstrumentId].SetIntLimits(1, 1000000);
    sc.Input[kInKillDeadlineSeconds].SetIntLimits(1, 600);
    sc.Input[kInEngineEndpoint].SetDescription(
        "The engine's ZeroMQ address, e.g. tcp://127.0.0.1:5555 (the engine's shim_endpoint).");
    sc.Input[kInKillEndpoint].SetDescription(
        "Empty (default): no kill endpoint. Else an address this study binds for kill requests "
        "from outside Sierra Chart, e.g. tcp://127.0.0.1:5556; one port per chart.");
    sc.Input[kInKillSecret].SetDescription(
        "The secret a kill request must carry (at most 32 characters). Empty: every kill "
        "request is refused.");
    sc.Input[kInCancelOnDisconnect].SetDescription(
        "Yes: when the engine goes silent, cancel the working orders the engine placed "
        "(not orders placed by hand).");
    sc.Input[kInHeartbeatIntervalMs].SetDescription(
        "How often the study and the engine exchange heartbeats, in milliseconds.");
    sc.Input[kInSilenceHeartbeats].SetDescription(
        "The engine counts as silent after this many heartbeat intervals without a frame.");
    sc.Input[kInForwardTimeAndSales].SetDescription(
        "Yes: send every trade and bid/ask update of this chart's symbol to the engine.");
    sc.Input[kInForwardDepth].SetDescription("Yes: send market depth changes to the engine.");
    sc.Input[kInDepthLevels].SetDescription("How many depth levels per side (0 to 10).");
    sc.Input[kInKillButton].SetDescription(
        "The Custom Study Control Bar button (1-150) that is the kill switch; 0: none.");
    sc.Input[kInKillButtonFlattens].SetDescription(
        "Yes: the kill button flattens the position and cancels all orders; No: cancels only.");
    sc.Input[kInInstrumentId].SetDescription(
        "The instrument id the engine knows this chart's symbol by.");
    sc.Input[kInCurveServerKey].SetDescription(
        "The engine's CURVE public key (z85) or its .key file; empty: no encryption (loopback).");
    sc.Input[kInCurveClientKey].SetDescription(
        "This study's CURVE secret key file (NAME.key_secret) or z85 secret; empty: none.");
    sc.Input[kInKillDeadlineSeconds].SetDescription(
        "A kill (or a cancel when the engine goes silent) that Sierra Chart cannot run now "
        "(full recalculation, auto trading off, study not called) is tried again for this "
        "long, then reported failed and not run.");
    sc.Input[kInLiveTrading].SetDescription(
        "No: paper (Sierra Chart's Trade Simulation Mode must be on). Yes: orders go to the "
        "trade service (Trade Simulation Mode must be off). Otherwise every order is refused.");
}

}  // namespace

namespace {

// The link inputs changed: a new socket thread with the new values, the rest of the state
// (orders, fills already forwarded, pending kills) kept, and the order events the old link
// had not had acknowledged sent again after the new Hello, so none is lost.
void restart_link(SCStudyInterfaceRef sc, StudyState& state, const ShimConfig& config) {
    std::vector<tickbridge::shim::RecordSlot> kept = state.shim->take_unacknowledged();
    // The old socket thread answered its waiting kills "not run" as it stopped: drop them.
    const auto answered = std::remove_if(state.pending_kills.begin(), state.pending_kills.end(),
                                         [](const StudyState::PendingKill& kill) {
                                             return kill.ticket.generation != 0;
                                         });
    if (answered != state.pending_kills.end()) {
        sc.AddMessageToLog("TickBridge: link inputs changed; kills not run yet were reported "
                           "failed to their requesters and are dropped", 1);
        state.pending_kills.erase(answered, state.pending_kills.end());
    }
    state.shim = std::make_unique<Shim>(config);
    state.shim->start();
    post_hello(sc, state);
    state.platform_status_sent = -1;
    for (const auto& slot : kept) state.shim->post_slot(slot);
    SCString message;
    message.Format("TickBridge: link inputs changed; engine link restarted, %d unacknowledged "
                   "order events sent again",
                   static_cast<int>(kept.size()));
    sc.AddMessageToLog(message, 0);
}

void study(SCStudyInterfaceRef sc) {
    if (sc.SetDefaults) {
        set_defaults(sc);
        return;
    }
    if (sc.LastCallToFunction) {
        // Study removed, chart closed or DLL released: stop and join the socket thread now,
        // so no thread outlives the DLL and the ports are free for the next start.
        if (state_of(sc) != nullptr) destroy_state(sc);
        return;
    }

    StudyState* existing = state_of(sc);
    // The usual call: the link inputs are those of the running link, compared in place
    // (building a ShimConfig allocates its strings: a cost at every chart update).
    if (existing == nullptr || !same_link_inputs(sc, existing->shim->config())) {
        const ShimConfig config = config_from_inputs(sc);
        if (existing != nullptr && !same_link(existing->shim->config(), config))
            restart_link(sc, *existing, config);
        if (existing == nullptr) existing = &create_state(sc, config);
    }
    StudyState& state = *existing;

    apply_trade_settings(sc);
    if (!state.hello_posted || !same_hello_identity(sc, state.hello_identity)) {
        if (state.hello_posted)
            sc.AddMessageToLog("TickBridge: symbol, trade account or trading mode changed; "
                               "sending a new Hello to the engine", 0);
        post_hello(sc, state);
        state.platform_status_sent = -1;  // every Hello is followed by the current status
    }
    post_platform_status(sc, state);
    state.shim->flush();

    const int button = sc.Input[kInKillButton].GetInt();
    // The button toggles: act on its press (ON), then release it at once.
    if (button > 0 && sc.MenuEventID == button && sc.PointerEventType == SC_ACS_BUTTON_ON) {
        queue_kill(sc, state, sc.Input[kInKillButtonFlattens].GetYesNo() != 0, KillTicket{},
                   "control bar button");
        sc.SetCustomStudyControlBarButtonEnable(button, 0);
    }

    execute_commands(sc, state);
    forward_time_and_sales(sc, state, sc.Input[kInForwardTimeAndSales].GetYesNo() != 0);
    sc.UsesMarketDepthData = sc.Input[kInForwardDepth].GetYesNo();
    if (sc.Input[kInForwardDepth].GetYesNo()) {
        const int levels = sc.Input[kInDepthLevels].GetInt();
        const std::int64_t now = utc_now_ns();
        const int clamped = levels < 0 ? 0 : (levels > static_cast<int>(kMaxDepthLevels)
                                                  ? static_cast<int>(kMaxDepthLevels)
                                                  : levels);
        forward_depth_side(sc, state, true, clamped, now);
        forward_depth_side(sc, state, false, clamped, now);
    }
    forward_orders(sc, state);
    forward_fills(sc, state);
    forward_position_and_account(sc, state);
    drain_log(sc, state);
    take_trading_states(state);
    draw_status(sc, state);
}

}  // namespace

SCSFExport scsf_TickBridge(SCStudyInterfaceRef sc) {
    // Nothing may unwind into Sierra Chart (an exception through the DLL boundary ends
    // the program): allocation failures and the like are reported and the call returns.
    try {
        study(sc);
    } catch (const std::exception& error) {
        SCString message;
        message.Format("TickBridge: %s", error.what());
        sc.AddMessageToLog(message, 1);
    } catch (...) {
        sc.AddMessageToLog("TickBridge: unknown error", 1);
    }
}
