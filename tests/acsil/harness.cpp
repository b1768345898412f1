// Plays Sierra Chart for acsil/TickBridgeStudy.cpp on Linux: the defaults call, the calls
// on each chart update with new time-and-sales entries, order and fill changes, and the
// last call. Compiled against Sierra Chart's real ACSIL headers (version 2784, found
// through TICKBRIDGE_ACSIL_HEADERS; Windows declarations from tests/acsil/winstandin), it
// fills the s_sc members and function pointers itself, as Sierra Chart does before each
// call, keeps a small simulated order book behind the trading functions and records every
// trading function call, so tests can see exactly what the study asked Sierra Chart to do.
// Driven line by line on stdin by tests/acsil/toolchain.py (Harness); every command ends
// with a line "OK" (or "ERR <why>").
//
// Where a behaviour comes from Sierra Chart rather than the header, the rule modelled here
// and its source. [ATM] is Sierra Chart's "Automated Trading Management" page
// (sierrachart.com/index.php?page=doc/AutoTradeManagment.php), read from the stored copy
// the project's search tool holds; [H] is the 2784 headers. Only the opening of that page
// (its Variables section up to MaximumPositionAllowed) and of the ACSIL pages could be read
// there: where a rule needs a passage that could not be read, it says "docs silent (not
// read)", and says which choice the harness makes and why. Each rule is quoted again
// beside the code that models it.
// - Skips. [H] sierrachart.h, GetTradingErrorTextMessage: "Order entry skipped because full
//   recalculation", "... because automated trading is disabled", "... because only one
//   trade per bar is allowed", "... because invalid bar index specified". Every trading
//   function returns these while the chart is fully recalculated, downloads history or has
//   auto trading off. For CancelOrder / CancelAllOrders / ModifyOrder the docs are silent
//   (not read); Sierra Chart's own study "Trade Management by Study"
//   (scsf_TradeManagementByStudy, shipped in ACS_Source) tests `Result == 1` for success
//   and `Result == SCT_SKIPPED_AUTO_TRADING_DISABLED` after sc.ModifyOrder, logging
//   "'Trade >> Auto Trading Enabled' is disabled.", so non-entry functions are skipped
//   too; the harness skips all of them, the harder case for the study (a kill must then
//   retry).
// - Entries (BuyOrder/SellOrder) under the auto-trade variables: see entry() below.
// - CancelAllOrders / FlattenAndCancelAllOrders return 1 when they acted: docs silent (not
//   read). The header declares `int (SCDLLCALL* CancelAllOrders)()` and nothing more; the
//   harness returns 1 after acting and a negative code (the skips above, or a forced
//   SCTRADING_ORDER_ERROR = -1 via `set CancelResult`) when it did not, since the study
//   treats any value <= 0 as "not done" - the safe reading whatever the real positive value.
// - An input whose string was never set or was set to "" reads "Unset": that is
//   s_SCInput_145::GetString() in scstructures.h itself (SetString("") leaves it null), so
//   the harness does not model it: the header's own code runs.
// - A fill list that is rewritten (`fillsrewrite`): docs silent (not read). Sierra Chart
//   reloads its order fills from the trade service (Trade >> Trade Activity Log, "Restore
//   Trade Activity") and nothing promises the order of GetOrderFillEntry across calls, so
//   the harness moves the newest fill to the front: a study that tracks fills by index
//   loses or repeats one.
// The standard headers first: scstructures.h defines min and max as macros, as windows.h does.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <dirent.h>
#include <map>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sierrachart.h"

extern "C" void scsf_TickBridge(SCStudyInterfaceRef sc);

// Sierra Chart's own constructor (declared in sierrachart.h, "only implemented internally
// within Sierra Chart"): the default member initializers, on a zero-initialized global.
s_sc::s_sc() {}

namespace {

s_sc g_sc;
std::vector<std::string> g_calls;  // trading function calls, in order
std::vector<std::string> g_log;    // sc.AddMessageToLog
std::vector<s_SCTradeOrder> g_orders;
std::vector<s_SCOrderFillData> g_fills;
s_SCPositionData g_position;
uint32_t g_next_order_id = 100;
int g_next_execution = 1;
bool g_execution_ids = true;  // false: fills without a service execution id (simulation)
std::vector<s_MarketDepthEntry> g_bids, g_asks;
std::vector<s_SCInput_145> g_inputs(145);
std::map<int, void*> g_persistent_pointers;
std::map<int, std::string> g_input_descriptions;
int g_cancel_result = 0;  // 0: Sierra Chart's real answer; else what every cancel returns
int64_t g_chart_utc_offset_us = 0;  // the chart's time zone, as an offset from UTC
bool g_fills_same_time = false;  // every fill in the same microsecond
int g_flatten_orders = 2;  // a flatten's closing order: 2 placed and filled, 1 placed, 0 none
double g_flatten_price = 4000.0;

// Sierra Chart's time and sales buffer: a ring whose oldest entry is at m_NextIndex when full.
constexpr int kRingSize = 1 << 17;
std::vector<s_TimeAndSales> g_ring(kRingSize);
int g_ring_next = 0;
bool g_ring_full = false;
uint32_t g_sequence = 0;

// c_SCTimeAndSalesArray keeps its pointer protected: Sierra Chart fills it from inside.
struct RingView : c_SCTimeAndSalesArray {
    RingView() {
        m_p_Data = g_ring.data();
        m_MaxSize = kRingSize;
        m_NextIndex = g_ring_next;
        m_StartAtNext = g_ring_full ? 1 : 0;
    }
};

std::string price_text(double price) {
    if (price == DBL_MAX) return "unset";
    std::ostringstream out;
    out << price;
    return out.str();
}

s_SCTradeOrder* find_order(uint64_t id) {
    for (auto& order : g_orders)
        if (order.InternalOrderID == id) return &order;
    return nullptr;
}

int g_last_entry_bar = -1;

// The skips every trading function returns (see the top of the file): full recalculation,
// historical data download, auto trading off; 0 when Sierra Chart would act.
int skip_code() {
    if (g_sc.IsFullRecalculation) return SCT_SKIPPED_FULL_RECALC;
    if (g_sc.DownloadingHistoricalData) return SCT_SKIPPED_DOWNLOADING_HISTORICAL_DATA;
    if (!g_sc.IsAutoTradingEnabled) return SCT_SKIPPED_AUTO_TRADING_DISABLED;
    return 0;
}

int cancel_all_working();
void apply_fill(uint32_t id, double quantity, double price);

double place(s_SCNewOrder& order, BuySellEnum side) {
    s_SCTradeOrder placed;
    placed.InternalOrderID = g_next_order_id++;
    placed.Symbol = g_sc.Symbol;
    placed.OrderQuantity = order.OrderQuantity;
    placed.TextTag = order.TextTag;
    placed.Price1 = order.Price1 != DBL_MAX ? order.Price1 : 0.0;
    placed.Price2 = order.Price2 != DBL_MAX ? order.Price2 : 0.0;
    placed.OrderStatusCode = SCT_OSC_OPEN;
    placed.BuySell = side;
    placed.OrderTypeAsInt = order.OrderType;
    placed.TimeInForce = order.TimeInForce;
    placed.IsSimulated = g_sc.SendOrdersToTradeService ? 0 : 1;
    g_orders.push_back(placed);
    order.InternalOrderID = placed.InternalOrderID;
    return order.OrderQuantity;
}

double entry(s_SCNewOrder& order, int index, BuySellEnum side, const char* name) {
    std::ostringstream call;
    call << name << " qty=" << order.OrderQuantity << " type=" << order.OrderType
         << " price1=" << price_text(order.Price1) << " price2=" << price_text(order.Price2)
         << " tif=" << order.TimeInForce << " tag=" << order.TextTag.GetChars()
         << " index=" << index;
    g_calls.push_back(call.str());
    if (const int skipped = skip_code()) return skipped;
    if (index < 0 || index >= g_sc.ArraySize) return SCT_SKIPPED_INVALID_INDEX_SPECIFIED;
    // Auto trade management for entries (sc.BuyEntry / sc.BuyOrder and the sell side); each
    // rule that changes or refuses the order is recorded as a call, so a test sees it.
    // [ATM] Variables: "When a reference is made to Working orders, this refers to orders
    // for the symbol of the chart that the trading system is applied to with an Order
    // Status ... of PENDING OPEN, OPEN, PENDING CANCEL, or PENDING MODIFY" (here:
    // IsWorkingOrderStatus of the header).
    const double position = g_position.PositionQuantity;
    const double sign = side == BSE_BUY ? 1.0 : -1.0;
    const bool opposite_position = position * sign < 0;
    const bool same_position = position * sign > 0;
    bool working = false, opposite_working = false;
    for (const auto& placed : g_orders) {
        if (!IsWorkingOrderStatus(placed.OrderStatusCode)) continue;
        working = true;
        if (placed.BuySell != side) opposite_working = true;
    }
    // [H] "Order entry skipped because only one trade per bar is allowed".
    if (g_sc.AllowOnlyOneTradePerBar && g_last_entry_bar == index)
        return SCT_SKIPPED_ONLY_ONE_TRADE_PER_BAR;
    // SupportReversals and AllowOppositeEntryWithOpposingPositionOrOrders: docs silent (not
    // read; the page lists both). Modelled from their names and Sierra Chart's usage: with
    // reversals on, an entry against a position also closes it (its quantity grows by the
    // position); with reversals off, it is refused unless opposite entries are allowed.
    if (opposite_position && g_sc.SupportReversals) {
        // A reversal: the entry also closes the opposite position.
        order.OrderQuantity += std::abs(position);
        g_calls.push_back("AutoTrade reversal qty=" + price_text(order.OrderQuantity));
    } else if ((opposite_position || opposite_working) &&
               !g_sc.AllowOppositeEntryWithOpposingPositionOrOrders) {
        g_calls.push_back("AutoTrade ignored: opposite position or orders");
        return SCTRADING_ORDER_ERROR;
    }
    // [ATM] AllowMultipleEntriesInSameDirection: "The default value for this variable is
    // FALSE (No). When this variable is set to FALSE (No), the auto trade management system
    // will not allow multiple Entries in the same direction."
    if (same_position && !g_sc.AllowMultipleEntriesInSameDirection) {
        g_calls.push_back("AutoTrade ignored: entry in the same direction");
        return SCTRADING_ORDER_ERROR;
    }
    // AllowEntryWithWorkingOrders and the CancelAllOrdersOn* variables: docs silent (not
    // read; the page lists them). Modelled from their names: an entry is refused while
    // orders work, or cancels the working orders first. [ATM] Introduction: "Market orders
    // are not attempted to be canceled when orders are set to be canceled on entries,
    // reversals, and exits" (the harness's orders are limit orders; not distinguished).
    if (working && !g_sc.AllowEntryWithWorkingOrders) {
        g_calls.push_back("AutoTrade ignored: working orders");
        return SCTRADING_ORDER_ERROR;
    }
    if (g_sc.CancelAllOrdersOnEntriesAndReversals || g_sc.CancelAllOrdersOnEntries ||
        (opposite_position && g_sc.SupportReversals && g_sc.CancelAllOrdersOnReversals)) {
        g_calls.push_back("AutoTrade canceled working orders: " +
                          std::to_string(cancel_all_working()));
    }
    // [ATM] MaximumPositionAllowed: "An order that would increase the Session Position to
    // a quantity greater than the specified maximum position allowed will be ignored. For
    // example, if this variable is set to 5, a Buy order that would increase the existing
    // position greater than 5 will be ignored." (Until this session the harness cut the
    // order to the room left; the page says the whole order is ignored.)
    if (std::abs(position + sign * order.OrderQuantity) > g_sc.MaximumPositionAllowed) {
        g_calls.push_back("AutoTrade ignored: past MaximumPositionAllowed");
        return SCTRADING_ORDER_ERROR;
    }
    if (g_sc.SupportAttachedOrdersForTrading) g_calls.push_back("AutoTrade attached orders");
    g_last_entry_bar = index;
    return place(order, side);
}

double SCDLLCALL buy_entry(s_SCNewOrder& order, int index) {
    return entry(order, index, BSE_BUY, "BuyOrder");
}
double SCDLLCALL sell_entry(s_SCNewOrder& order, int index) {
    return entry(order, index, BSE_SELL, "SellOrder");
}
int SCDLLCALL submit_order(s_SCNewOrder& order, int index, BuySellEnum side) {
    return static_cast<int>(entry(order, index, side, side == BSE_BUY ? "SubmitBuy" : "SubmitSell"));
}

int SCDLLCALL modify(s_SCNewOrder& modification) {
    std::ostringstream call;
    call << "ModifyOrder id=" << modification.InternalOrderID
         << " qty=" << modification.OrderQuantity << " price1=" << price_text(modification.Price1)
         << " price2=" << price_text(modification.Price2);
    g_calls.push_back(call.str());
    if (const int skipped = skip_code()) return skipped;
    s_SCTradeOrder* order = find_order(modification.InternalOrderID);
    if (order == nullptr || !IsWorkingOrderStatus(order->OrderStatusCode))
        return SCTRADING_ORDER_ERROR;
    if (modification.OrderQuantity > 0) order->OrderQuantity = modification.OrderQuantity;
    if (modification.Price1 != DBL_MAX) order->Price1 = modification.Price1;
    if (modification.Price2 != DBL_MAX) order->Price2 = modification.Price2;
    return 1;
}

int SCDLLCALL cancel(uint64_t id) {
    g_calls.push_back("CancelOrder id=" + std::to_string(id));
    if (g_cancel_result != 0) return g_cancel_result;
    if (const int skipped = skip_code()) return skipped;
    s_SCTradeOrder* order = find_order(id);
    if (order == nullptr || !IsWorkingOrderStatus(order->OrderStatusCode))
        return SCTRADING_ORDER_ERROR;
    order->OrderStatusCode = SCT_OSC_CANCELED;
    return 1;
}

int cancel_all_working() {
    int canceled = 0;
    for (auto& order : g_orders)
        if (IsWorkingOrderStatus(order.OrderStatusCode)) {
            order.OrderStatusCode = SCT_OSC_CANCELED;
            ++canceled;
        }
    return canceled;
}

// CancelAllOrders and FlattenAndCancelAllOrders: 1 when they acted, else the skip or error
// code (the top of the file says which part of that is documented and which is chosen).
int SCDLLCALL cancel_all() {
    g_calls.push_back("CancelAllOrders");
    if (g_cancel_result != 0) return g_cancel_result;
    if (const int skipped = skip_code()) return skipped;
    cancel_all_working();
    return 1;
}

// The flatten closes the position with a market order of Sierra Chart's own (no text tag).
// When Sierra Chart places it, during the call or later, the headers do not say; the
// harness can do either: `set FlattenOrders 2` (the default) places it during the call and
// fills it at once at g_flatten_price (the trade simulation's market order), 1 places it
// working, 0 places none (a test places it later with `place ... - market`).
int SCDLLCALL flatten_and_cancel_all() {
    g_calls.push_back("FlattenAndCancelAllOrders");
    if (g_cancel_result != 0) return g_cancel_result;
    if (const int skipped = skip_code()) return skipped;
    cancel_all_working();
    const double position = g_position.PositionQuantity;
    if (position != 0 && g_flatten_orders > 0) {
        s_SCNewOrder closing;
        closing.OrderType = SCT_ORDERTYPE_MARKET;
        closing.OrderQuantity = std::abs(position);
        place(closing, position > 0 ? BSE_SELL : BSE_BUY);
        if (g_flatten_orders == 2) apply_fill(closing.InternalOrderID, std::abs(position), g_flatten_price);
    }
    return 1;
}

int SCDLLCALL order_by_index(int index, s_SCTradeOrder& out) {
    if (index < 0 || index >= static_cast<int>(g_orders.size())) return SCTRADING_ORDER_ERROR;
    out = g_orders[static_cast<size_t>(index)];
    return 1;
}

int SCDLLCALL order_by_id(uint64_t id, s_SCTradeOrder& out) {
    const s_SCTradeOrder* order = find_order(id);
    if (order == nullptr) return SCTRADING_ORDER_ERROR;
    out = *order;
    return 1;
}

int SCDLLCALL fill_count() { return static_cast<int>(g_fills.size()); }

int SCDLLCALL fill_entry(unsigned int index, s_SCOrderFillData& out) {
    if (index >= g_fills.size()) return 0;
    out = g_fills[index];
    return 1;
}

void SCDLLCALL time_and_sales(c_SCTimeAndSalesArray& view) { view = RingView(); }

int SCDLLCALL bid_levels() { return static_cast<int>(g_bids.size()); }
int SCDLLCALL ask_levels() { return static_cast<int>(g_asks.size()); }
int SCDLLCALL bid_entry(s_MarketDepthEntry& out, int level) {
    if (level < 0 || level >= static_cast<int>(g_bids.size())) return 0;
    out = g_bids[static_cast<size_t>(level)];
    return 1;
}
int SCDLLCALL ask_entry(s_MarketDepthEntry& out, int level) {
    if (level < 0 || level >= static_cast<int>(g_asks.size())) return 0;
    out = g_asks[static_cast<size_t>(level)];
    return 1;
}

void SCDLLCALL button_text(int button, const char* text) {
    g_calls.push_back("SetCustomStudyControlBarButtonText " + std::to_string(button) + " " + text);
}
void SCDLLCALL button_enable(int button, int enabled) {
    g_calls.push_back("SetCustomStudyControlBarButtonEnable " + std::to_string(button) + " " +
                      std::to_string(enabled));
}
SCString SCDLLCALL version_number() { return SCString("2784"); }
void SCDLLCALL add_message(const char* message, int) { g_log.emplace_back(message); }
int SCDLLCALL trade_position(s_SCPositionData& out) {
    out = g_position;
    return 1;
}
void*& SCDLLCALL persistent_pointer(int key) { return g_persistent_pointers[key]; }
void SCDLLCALL set_persistent_pointer(int key, void* value) { g_persistent_pointers[key] = value; }
// Only UTC is asked for; the chart's time zone is g_chart_utc_offset_us ahead of it.
SCDateTime SCDLLCALL from_chart_time_zone(const SCDateTime& value, const char*) {
    SCDateTime utc;
    utc.SetInternalDateTime(value.GetInternalDateTime() - g_chart_utc_offset_us);
    return utc;
}
std::string g_status_text;
int g_status_line = 0;
int SCDLLCALL use_tool(s_UseTool& tool) {
    if (tool.DrawingType != DRAWING_TEXT) return 0;
    g_status_text = tool.Text.GetChars();
    g_status_line = tool.LineNumber;
    return 1;
}
void SCDLLCALL input_description(int input, const char* text) {
    g_input_descriptions[input] = text;
}

void install() {
    for (int i = 0; i < static_cast<int>(g_inputs.size()); ++i) {
        g_inputs[static_cast<size_t>(i)].InputIndex = i;
        g_inputs[static_cast<size_t>(i)].InternalSetDescription = input_description;
    }
    g_sc.Input.InternalSetArray(g_inputs.data(), static_cast<int>(g_inputs.size()));
    g_sc.ModifyOrder = modify;
    g_sc.CancelOrder = cancel;
    g_sc.CancelAllOrders = cancel_all;
    g_sc.FlattenAndCancelAllOrders = flatten_and_cancel_all;
    g_sc.GetOrderByIndex = order_by_index;
    g_sc.GetOrderByOrderID = order_by_id;
    g_sc.GetOrderFillArraySize = fill_count;
    g_sc.GetOrderFillEntry = fill_entry;
    g_sc.GetTimeAndSales = time_and_sales;
    g_sc.GetBidMarketDepthNumberOfLevels = bid_levels;
    g_sc.GetAskMarketDepthNumberOfLevels = ask_levels;
    g_sc.GetBidMarketDepthEntryAtLevel = bid_entry;
    g_sc.GetAskMarketDepthEntryAtLevel = ask_entry;
    g_sc.SetCustomStudyControlBarButtonText = button_text;
    g_sc.SetCustomStudyControlBarButtonEnable = button_enable;
    g_sc.VersionNumber = version_number;
    g_sc.p_AddMessageToLog = add_message;
    g_sc.InternalBuyEntry = buy_entry;
    g_sc.InternalSellEntry = sell_entry;
    g_sc.InternalSubmitOrder = submit_order;
    g_sc.InternalGetTradePosition = trade_position;
    g_sc.InternalConvertDateTimeFromChartTimeZone = from_chart_time_zone;
    g_sc.GetPersistentPointer = persistent_pointer;
    g_sc.Internal_UseDrawingTool = use_tool;
    g_sc.SetPersistentPointer = set_persistent_pointer;
    g_sc.Symbol = "ESZ6";
    g_sc.SelectedTradeAccount = "Sim1";
    g_sc.TickSize = 0.25f;
    g_sc.CurrencyValuePerTick = 12.5f;
    g_sc.RealTimePriceMultiplier = 1.0f;
    g_sc.GlobalTradeSimulationIsOn = 1;
    g_sc.IsAutoTradingEnabled = 1;
    g_sc.ServerConnectionState = SCS_CONNECTED;  // File >> Connect to Data Feed done
    g_sc.ChartTradeModeEnabled = 0;
    g_sc.TradeServiceAccountBalance = 100000.0;
    g_sc.ArraySize = 500;  // bars on the chart
    g_sc.Index = 0;        // what Sierra Chart leaves in sc.Index with manual looping
}

// Deterministic entries, so a test can recompute what each sequence number must carry:
// sequence % 3 == 0 a quote, 1 a trade at the bid, 2 a trade at the ask.
void append_time_and_sales(int count) {
    for (int i = 0; i < count; ++i) {
        s_TimeAndSales entry;
        entry.Sequence = ++g_sequence;
        const uint32_t s = entry.Sequence;
        // One millisecond apart, exactly: SCDateTime is an int64 count of microseconds.
        // Plus s % 397 microseconds, so that exactness to the microsecond is seen.
        entry.DateTime.SetInternalDateTime(46000LL * 86400000000LL + int64_t{s} * 1000 +
                                           int64_t{s % 397});
        entry.Price = 4000.0f + static_cast<float>(s % 100) * 0.25f;
        entry.Volume = s % 7 + 1;
        entry.Bid = entry.Price - 0.25f;
        entry.Ask = entry.Price;
        entry.BidSize = s % 11 + 1;
        entry.AskSize = s % 13 + 1;
        entry.Type = static_cast<int16_t>(s % 3 == 0 ? SC_TS_BIDASKVALUES
                                                     : (s % 3 == 1 ? SC_TS_BID : SC_TS_ASK));
        g_ring[static_cast<size_t>(g_ring_next)] = entry;
        if (++g_ring_next == kRingSize) {
            g_ring_next = 0;
            g_ring_full = true;
        }
    }
}

void call_study() {
    scsf_TickBridge(g_sc);
    g_sc.MenuEventID = 0;
    g_sc.PointerEventType = 0;
}

void apply_fill(uint32_t id, double quantity, double price) {
    s_SCTradeOrder* order = find_order(id);
    if (order == nullptr) return;
    const double before = order->FilledQuantity;
    order->FilledQuantity = before + quantity;
    order->AvgFillPrice = (order->AvgFillPrice * before + price * quantity) / order->FilledQuantity;
    if (order->FilledQuantity >= order->OrderQuantity) order->OrderStatusCode = SCT_OSC_FILLED;
    s_SCOrderFillData fill;
    fill.Symbol = g_sc.Symbol;
    fill.TradeAccount = g_sc.SelectedTradeAccount;
    fill.InternalOrderID = id;
    // Sierra Chart gives fill times in the chart's time zone.
    fill.FillDateTime.SetInternalDateTime(46000LL * 86400000000LL + 43200000000LL +
                                          (g_fills_same_time ? 0 : int64_t{g_next_execution} * 1000000) +
                                          g_chart_utc_offset_us);
    fill.BuySell = order->BuySell;
    fill.Quantity = quantity;
    fill.FillPrice = price;
    if (g_execution_ids) fill.FillExecutionServiceID.Format("EX%d", g_next_execution);
    ++g_next_execution;
    const double signed_quantity = order->BuySell == BSE_BUY ? quantity : -quantity;
    const double position = g_position.PositionQuantity + signed_quantity;
    if (position != 0 && std::abs(position) > std::abs(g_position.PositionQuantity))
        g_position.AveragePrice = (g_position.AveragePrice * g_position.PositionQuantity +
                                   price * signed_quantity) / position;
    if (position == 0) g_position.AveragePrice = 0;
    g_position.PositionQuantity = position;
    fill.TradePositionQuantity = position;
    g_fills.push_back(fill);
}

// The threads of this process and their names (ZeroMQ names its own "ZMQbg/...").
std::string thread_names(int& count) {
    std::string names;
    count = 0;
    if (DIR* dir = opendir("/proc/self/task")) {
        while (dirent* entry = readdir(dir)) {
            if (entry->d_name[0] == '.') continue;
            ++count;
            std::ifstream comm(std::string("/proc/self/task/") + entry->d_name + "/comm");
            std::string name;
            std::getline(comm, name);
            names += (names.empty() ? "" : ",") + name;
        }
        closedir(dir);
    }
    return names;
}

void set_field(const std::string& field, const std::string& value) {
    if (field == "Symbol") g_sc.Symbol = value.c_str();
    else if (field == "SelectedTradeAccount") g_sc.SelectedTradeAccount = value.c_str();
    else if (field == "TickSize") g_sc.TickSize = std::stof(value);
    else if (field == "CurrencyValuePerTick") g_sc.CurrencyValuePerTick = std::stof(value);
    else if (field == "GlobalTradeSimulationIsOn") g_sc.GlobalTradeSimulationIsOn = std::stoi(value);
    else if (field == "SendOrdersToTradeService") g_sc.SendOrdersToTradeService = std::stoi(value);
    else if (field == "IsFullRecalculation") g_sc.IsFullRecalculation = std::stoi(value);
    else if (field == "DownloadingHistoricalData") g_sc.DownloadingHistoricalData = std::stoi(value);
    else if (field == "TradeServiceAccountBalance") g_sc.TradeServiceAccountBalance = std::stod(value);
    else if (field == "IsAutoTradingEnabled") g_sc.IsAutoTradingEnabled = std::stoi(value);
    else if (field == "ChartTradeModeEnabled") g_sc.ChartTradeModeEnabled = std::stoi(value);
    else if (field == "ServerConnectionState") g_sc.ServerConnectionState = std::stoi(value);
    else if (field == "RealTimePriceMultiplier") g_sc.RealTimePriceMultiplier = std::stof(value);
    else if (field == "ChartUtcOffsetHours") {
        // Sierra Chart shows fill times in the chart's time zone: a new zone moves them all.
        const int64_t offset = std::stoll(value) * 3600000000LL;
        for (auto& fill : g_fills)
            fill.FillDateTime.SetInternalDateTime(std::as_const(fill.FillDateTime).GetInternalDateTime() +
                                                  offset - g_chart_utc_offset_us);
        g_chart_utc_offset_us = offset;
    }
    else if (field == "FillsSameTime") g_fills_same_time = std::stoi(value) != 0;
    else if (field == "ExecutionIds") g_execution_ids = std::stoi(value) != 0;
    else if (field == "CancelResult") g_cancel_result = std::stoi(value);
    else if (field == "FlattenOrders") g_flatten_orders = std::stoi(value);
    else if (field == "FlattenPrice") g_flatten_price = std::stod(value);
    else throw std::runtime_error("unknown field " + field);
}

void bench(int entries_per_call, int calls) {
    std::vector<double> costs;
    costs.reserve(static_cast<size_t>(calls));
    for (int i = 0; i < calls; ++i) {
        append_time_and_sales(entries_per_call);
        const auto start = std::chrono::steady_clock::now();
        call_study();
        const auto stop = std::chrono::steady_clock::now();
        costs.push_back(std::chrono::duration<double, std::nano>(stop - start).count());
    }
    std::sort(costs.begin(), costs.end());
    double sum = 0;
    for (double c : costs) sum += c;
    const auto at = [&](double q) { return costs[static_cast<size_t>(q * (costs.size() - 1))]; };
    std::cout << "BENCH mean_ns=" << sum / costs.size() << " p50_ns=" << at(0.5)
              << " p99_ns=" << at(0.99) << " max_ns=" << costs.back() << "\n";
}

bool handle(const std::string& line) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    if (command.empty()) return true;
    if (command == "defaults") {
        g_sc.SetDefaults = 1;
        call_study();
        g_sc.SetDefaults = 0;
    } else if (command == "set") {
        std::string field, value;
        in >> field;
        std::getline(in >> std::ws, value);
        set_field(field, value);
    } else if (command == "input") {
        int index;
        std::string kind, value;
        in >> index >> kind;
        std::getline(in >> std::ws, value);
        if (kind == "str") g_sc.Input[index].SetString(value.c_str());
        else if (kind == "int") g_sc.Input[index].SetInt(std::stoi(value));
        else g_sc.Input[index].SetYesNo(std::stoi(value));
    } else if (command == "ts") {
        int count;
        in >> count;
        append_time_and_sales(count);
    } else if (command == "call") {
        int count = 1;
        in >> count;
        for (int i = 0; i < count; ++i) call_study();
    } else if (command == "pump") {
        // Calls at a 1 ms chart update interval for the given time.
        int milliseconds;
        in >> milliseconds;
        const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(milliseconds);
        while (std::chrono::steady_clock::now() < end) {
            call_study();
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    } else if (command == "menu") {
        // A control bar button pressed (on) or released (off).
        std::string state = "on";
        in >> g_sc.MenuEventID >> state;
        g_sc.PointerEventType = state == "off" ? SC_ACS_BUTTON_OFF : SC_ACS_BUTTON_ON;
    } else if (command == "fill") {
        uint32_t id;
        double quantity, price;
        in >> id >> quantity >> price;
        apply_fill(id, quantity, price);
    } else if (command == "place") {
        // A trader's own order, placed by hand on the same account (not through the engine):
        // `place buy|sell QTY PRICE TAG [market]` (a limit order unless `market`; TAG `-`:
        // no text tag, as Sierra Chart's own orders).
        std::string side, tag, type;
        double quantity, price;
        in >> side >> quantity >> price >> tag >> type;
        s_SCNewOrder order;
        order.OrderType = type == "market" ? SCT_ORDERTYPE_MARKET : SCT_ORDERTYPE_LIMIT;
        order.OrderQuantity = quantity;
        order.Price1 = price;
        order.TextTag = tag == "-" ? "" : tag.c_str();
        place(order, side == "buy" ? BSE_BUY : BSE_SELL);  // not a call the study made
        std::cout << "PLACED " << order.InternalOrderID << "\n";
    } else if (command == "error") {
        uint32_t id;
        in >> id;
        if (s_SCTradeOrder* order = find_order(id)) order->OrderStatusCode = SCT_OSC_ERROR;
    } else if (command == "depth") {
        std::string side;
        int level;
        float price;
        double quantity;
        in >> side >> level >> price >> quantity;
        auto& book = side == "bid" ? g_bids : g_asks;
        if (static_cast<int>(book.size()) <= level) book.resize(static_cast<size_t>(level) + 1);
        book[static_cast<size_t>(level)].Price = price;
        book[static_cast<size_t>(level)].Quantity = quantity;
    } else if (command == "last") {
        g_sc.LastCallToFunction = 1;
        call_study();
        g_sc.LastCallToFunction = 0;
    } else if (command == "calls") {
        for (const auto& call : g_calls) std::cout << "CALL " << call << "\n";
    } else if (command == "orders") {
        for (const auto& order : g_orders)
            std::cout << "ORDER id=" << order.InternalOrderID << " status=" << order.OrderStatusCode
                      << " qty=" << order.OrderQuantity << " filled=" << order.FilledQuantity
                      << " tag=" << order.TextTag.GetChars() << " simulated=" << order.IsSimulated
                      << "\n";
    } else if (command == "get") {
        std::string field;
        in >> field;
        if (field == "SendOrdersToTradeService") std::cout << "VALUE " << g_sc.SendOrdersToTradeService << "\n";
        else if (field == "SupportReversals") std::cout << "VALUE " << g_sc.SupportReversals << "\n";
        else throw std::runtime_error("unknown field " + field);
    } else if (command == "fillsrewrite") {
        // Sierra Chart rewrites its fill list (e.g. reloaded from the trade service, sorted
        // by time): the same fills in another order; here the newest moves to the front.
        std::rotate(g_fills.rbegin(), g_fills.rbegin() + 1, g_fills.rend());
    } else if (command == "status") {
        std::cout << "STATUS " << g_status_line << " " << g_status_text << "\n";
    } else if (command == "descriptions") {
        for (const auto& [input, text] : g_input_descriptions)
            std::cout << "DESCRIPTION " << input << " " << text << "\n";
    } else if (command == "position") {
        std::cout << "POSITION " << g_position.PositionQuantity << "\n";
    } else if (command == "log") {
        for (const auto& message : g_log) std::cout << "LOG " << message << "\n";
    } else if (command == "threads") {
        int count = 0;
        const std::string names = thread_names(count);
        std::cout << "THREADS " << count << " " << names << "\n";
    } else if (command == "sleep") {
        int milliseconds;
        in >> milliseconds;
        std::this_thread::sleep_for(std::chrono::milliseconds(milliseconds));
    } else if (command == "bench") {
        int entries_per_call, calls;
        in >> entries_per_call >> calls;
        bench(entries_per_call, calls);
    } else if (command == "blast") {
        // As fast as the chart could ever call: `per_call` new entries per call, no pause.
        int total, per_call;
        in >> total >> per_call;
        const auto start = std::chrono::steady_clock::now();
        for (int sent = 0; sent < total; sent += per_call) {
            append_time_and_sales(per_call);
            call_study();
        }
        const auto elapsed = std::chrono::steady_clock::now() - start;
        std::cout << "BLAST ns=" << std::chrono::duration<double, std::nano>(elapsed).count()
                  << "\n";
    } else if (command == "quit") {
        return false;
    } else {
        std::cout << "ERR unknown command " << command << "\n" << std::flush;
        return true;
    }
    std::cout << "OK\n" << std::flush;
    return true;
}

}  // namespace

int main() {
    std::ios::sync_with_stdio(false);
    install();
    std::string line;
    while (std::getline(std::cin, line)) {
        try {
            if (!handle(line)) break;
        } catch (const std::exception& error) {
            std::cout << "ERR " << error.what() << "\n" << std::flush;
        }
    }
    // Sierra Chart owns the input strings (SetString allocates them from its heap).
    for (auto& input : g_inputs) input.ClearString();
    return 0;
}
