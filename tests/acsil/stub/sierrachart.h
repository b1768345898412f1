// A small stub of Sierra Chart's ACSIL interface (sierrachart.h, scstructures.h,
// scconstants.h), written from Sierra Chart's public documentation and headers, for
// compiling acsil/TickBridgeStudy.cpp off Windows and running it in tests/acsil/harness.cpp.
//
// Rules it keeps, so that the study compiles unchanged against the real header:
//  - only real names: types, members, constants and signatures as Sierra Chart spells them
//    (s_sc / SCStudyInterfaceRef, s_SCNewOrder, s_SCTradeOrder, s_SCPositionData,
//    s_SCOrderFillData, s_TimeAndSales, c_SCTimeAndSalesArray, SCT_* constants, ...);
//  - the platform functions that are function-pointer members in the real s_sc
//    (ModifyOrder, CancelOrder, GetOrderByIndex, GetTimeAndSales, ...) are function
//    pointers here too, set by the harness; BuyOrder/SellOrder are inline members that call
//    an internal pointer, as in the real header;
//  - members the study does not use are left out. Anything marked "stub only" exists so
//    the harness can play Sierra Chart; the study never touches it.
// Values of constants are those of the real scconstants.h (SC_TS_BID = 1, SC_TS_ASK = 2,
// SC_TS_BIDASKVALUES = 6, SCT_ORDERTYPE_MARKET = 0, ..., SCT_OSC_OPEN = 4, ...).
#ifndef TICKBRIDGE_STUB_SIERRACHART_H
#define TICKBRIDGE_STUB_SIERRACHART_H

#include <cfloat>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>

#define SC_DLL_VERSION 2700

#ifdef _WIN32
#define SCDLLEXPORT extern "C" __declspec(dllexport)
#define SCDLLCALL __cdecl
#else
#define SCDLLEXPORT extern "C" __attribute__((visibility("default")))
#define SCDLLCALL
#endif

#define SCSFExport SCDLLEXPORT void SCDLLCALL

#define SCDLLName(DLLName)                                                  \
    SCDLLEXPORT int SCDLLCALL scdll_DLLVersion() { return SC_DLL_VERSION; } \
    SCDLLEXPORT const char* SCDLLCALL scdll_DLLName() { return DLLName; }

typedef double t_OrderQuantity32_64;

// ---- SCString -----------------------------------------------------------------------------

class SCString {
public:
    SCString() = default;
    SCString(const char* text) : m_text(text ? text : "") {}
    SCString(const SCString&) = default;
    SCString& operator=(const SCString&) = default;
    SCString& operator=(const char* text) {
        m_text = text ? text : "";
        return *this;
    }
    const char* GetChars() const { return m_text.c_str(); }
    int GetLength() const { return static_cast<int>(m_text.size()); }
    bool IsEmpty() const { return m_text.empty(); }
    void Clear() { m_text.clear(); }
    SCString& Format(const char* format, ...) {
        char buffer[1024];
        va_list args;
        va_start(args, format);
        std::vsnprintf(buffer, sizeof buffer, format, args);
        va_end(args);
        m_text = buffer;
        return *this;
    }
    SCString& operator+=(const char* text) {
        m_text += text;
        return *this;
    }
    int CompareNoCase(const char* text) const { return m_text == text ? 0 : 1; }
    operator const char*() const { return m_text.c_str(); }

private:
    std::string m_text;
};

// ---- SCDateTime: days since 1899-12-30 as a double ------------------------------------------

class SCDateTime {
public:
    SCDateTime() = default;
    SCDateTime(double value) : m_dt(value) {}
    double GetAsDouble() const { return m_dt; }

private:
    double m_dt = 0.0;
};
// As in scdatetime.h: the millisecond-rounding variant derives from SCDateTime.
class SCDateTimeMS : public SCDateTime {
public:
    SCDateTimeMS() = default;
    SCDateTimeMS(double DateTime) : SCDateTime(DateTime) {}
    SCDateTimeMS(const SCDateTime& DateTime) : SCDateTime(DateTime) {}
};

// ---- constants (scconstants.h) --------------------------------------------------------------

const int SC_TS_MARKER = 0;        // a gap in the time and sales data
const int SC_TS_BID = 1;           // trade at the bid or lower
const int SC_TS_ASK = 2;           // trade at the ask or higher
const int SC_TS_INSIDE = 3;        // unused
const int SC_TS_BIDASKVALUES = 6;  // bid and ask quote update

const int SCTRADING_ORDER_ERROR = -1;
const int SCTRADING_NOT_OCO_ORDER_TYPE = -2;
const int SCT_SKIPPED_DOWNLOADING_HISTORICAL_DATA = -8999;
const int SCT_SKIPPED_FULL_RECALC = -8998;
const int SCT_SKIPPED_ONLY_ONE_TRADE_PER_BAR = -8997;

const int SCT_ORDERTYPE_MARKET = 0;
const int SCT_ORDERTYPE_LIMIT = 1;
const int SCT_ORDERTYPE_STOP = 2;
const int SCT_ORDERTYPE_STOP_LIMIT = 3;
const int SCT_ORDERTYPE_MARKET_IF_TOUCHED = 4;

enum SCTimeInForceEnum {
    SCT_TIF_DAY = 0,
    SCT_TIF_GOOD_TILL_CANCELED = 1,
    SCT_TIF_GTC = SCT_TIF_GOOD_TILL_CANCELED,
    SCT_TIF_GOOD_TILL_DATE_TIME = 2,
    SCT_TIF_IMMEDIATE_OR_CANCEL = 3,
    SCT_TIF_UNSET = -1,
};

enum SCOrderStatusCodeEnum {
    SCT_OSC_UNSPECIFIED = 0,
    SCT_OSC_ORDERSENT,
    SCT_OSC_PENDINGOPEN,
    SCT_OSC_PENDINGCHILD,
    SCT_OSC_OPEN,
    SCT_OSC_PENDINGMODIFY,
    SCT_OSC_PENDINGCANCEL,
    SCT_OSC_FILLED,
    SCT_OSC_CANCELED,
    SCT_OSC_ERROR,
    SCT_OSC_PENDING_CANCEL_FOR_REPLACE,
    NUM_ORDER_STATUS_CODES
};

inline bool IsWorkingOrderStatus(SCOrderStatusCodeEnum OrderStatusCode) {
    switch (OrderStatusCode) {
        case SCT_OSC_ORDERSENT:
        case SCT_OSC_PENDINGOPEN:
        case SCT_OSC_OPEN:
        case SCT_OSC_PENDINGCANCEL:
        case SCT_OSC_PENDINGMODIFY:
        case SCT_OSC_PENDINGCHILD:
        case SCT_OSC_PENDING_CANCEL_FOR_REPLACE: return true;
        default: return false;
    }
}

enum BuySellEnum { BSE_UNDEFINED, BSE_BUY, BSE_SELL };

// sc.PointerEventType for control bar buttons. The names are Sierra Chart's; these two
// values are the stub's own (not verified against scconstants.h), and nothing depends on them.
const int SC_ACS_BUTTON_ON = 8;
const int SC_ACS_BUTTON_OFF = 9;

enum TimeZonesEnum {
    TIMEZONE_NOT_SPECIFIED = 0,
    TIMEZONE_HONOLULU,
    TIMEZONE_ANCHORAGE,
    TIMEZONE_LOS_ANGELES,
    TIMEZONE_PHOENIX,
    TIMEZONE_DENVER,
    TIMEZONE_CHICAGO,
    TIMEZONE_NEW_YORK,
    TIMEZONE_HALIFAX,
    TIMEZONE_UTC,
};
enum OpenCloseEnum { OCE_UNDEFINED, OCE_OPEN, OCE_CLOSE };

// ---- structures (scstructures.h) ------------------------------------------------------------

struct s_TimeAndSales {
    SCDateTimeMS DateTime;
    float Price = 0;
    uint32_t Volume = 0;
    float Bid = 0;
    float Ask = 0;
    uint32_t BidSize = 0;
    uint32_t AskSize = 0;
    uint32_t Sequence = 0;  // >= 1; may wrap or reset
    int16_t UnbundledTradeIndicator = 0;
    int16_t Type = 0;
    uint32_t TotalBidDepth = 0;
    uint32_t TotalAskDepth = 0;
};

// A view of Sierra Chart's circular time and sales buffer: the oldest entry at index 0.
class c_SCTimeAndSalesArray {
public:
    int Size() const {
        if (m_p_Data == nullptr) return 0;
        return m_StartAtNext ? m_MaxSize : m_NextIndex;
    }
    int GetArraySize() const { return Size(); }
    const s_TimeAndSales& operator[](int Index) const {
        static s_TimeAndSales DefaultElement;
        if (m_p_Data == nullptr || Index < 0 || Index >= Size()) return DefaultElement;
        if (m_StartAtNext) {
            Index += m_NextIndex;
            if (Index >= m_MaxSize) Index -= m_MaxSize;
        }
        return m_p_Data[Index];
    }
    uint32_t GetSequenceNumberOfLastElement() const {
        const int ArraySize = Size();
        return ArraySize == 0 ? 0 : operator[](ArraySize - 1).Sequence;
    }

    // stub only: the harness points the view at its ring buffer.
    void StubSet(const s_TimeAndSales* data, int max_size, int next_index, int start_at_next) {
        m_p_Data = data;
        m_MaxSize = max_size;
        m_NextIndex = next_index;
        m_StartAtNext = start_at_next;
    }

protected:
    const s_TimeAndSales* m_p_Data = nullptr;
    int m_MaxSize = 0;
    int m_NextIndex = 0;
    int m_StartAtNext = 0;
};

struct s_SCNewOrder {
    int Version = 18;
    int OrderType = SCT_ORDERTYPE_MARKET;
    t_OrderQuantity32_64 OrderQuantity = 0;
    double Price1 = DBL_MAX;
    double Price2 = DBL_MAX;
    uint32_t InternalOrderID = 0;
    uint32_t InternalOrderID2 = 0;
    SCString TextTag;
    SCTimeInForceEnum TimeInForce = SCT_TIF_UNSET;
    double Target1Offset = 0.0;
    double Stop1Offset = 0.0;
    SCString Symbol;
    SCString TradeAccount;

    bool IsPrice1Set() const { return Price1 != DBL_MAX; }
    bool IsPrice2Set() const { return Price2 != DBL_MAX; }
};

struct s_SCTradeOrder {
    int Version = 19;
    uint32_t InternalOrderID = 0;
    SCString Symbol;
    SCString OrderType;
    t_OrderQuantity32_64 OrderQuantity = 0;
    SCString TextTag;
    double Price1 = 0.0;
    double Price2 = 0.0;
    double AvgFillPrice = 0.0;
    int SourceChartNumber = 0;
    SCOrderStatusCodeEnum OrderStatusCode = SCT_OSC_UNSPECIFIED;
    t_OrderQuantity32_64 FilledQuantity = 0;
    uint32_t ParentInternalOrderID = 0;
    uint32_t LinkID = 0;
    SCDateTime LastActivityTime;
    OpenCloseEnum OpenClose = OCE_UNDEFINED;
    BuySellEnum BuySell = BSE_UNDEFINED;
    SCDateTime EntryDateTime;
    int OrderTypeAsInt = 0;
    int IsSimulated = 0;
    SCString TradeAccount;

    bool IsWorking() { return IsWorkingOrderStatus(OrderStatusCode); }
};

struct s_SCPositionData {
    int Version = 12;
    SCString Symbol;
    t_OrderQuantity32_64 PositionQuantity = 0;
    double AveragePrice = 0;
    double OpenProfitLoss = 0;
    double CumulativeProfitLoss = 0;
    int WorkingOrdersExist = 0;
    double DailyProfitLoss = 0;
    SCString TradeAccount;
};

struct s_SCOrderFillData {
    int Version = 4;
    SCString Symbol;
    SCString TradeAccount;
    uint32_t InternalOrderID = 0;
    SCDateTimeMS FillDateTime;  // in the chart's time zone
    BuySellEnum BuySell = BSE_UNDEFINED;
    t_OrderQuantity32_64 Quantity = 0;
    double FillPrice = 0.0;
    SCString FillExecutionServiceID;
    t_OrderQuantity32_64 TradePositionQuantity = 0;
    int IsSimulated = 0;
};

struct s_MarketDepthEntry {
    float Price = 0;
    t_OrderQuantity32_64 Quantity = 0;
    uint32_t NumOrders = 0;
};

// ---- sc.Input[] ---------------------------------------------------------------------------

struct s_SCInput_145 {
    SCString Name;
    void SetInt(int value) { m_int = value; }
    int GetInt() const { return m_int; }
    void SetYesNo(int value) { m_int = value ? 1 : 0; }
    int GetYesNo() const { return m_int; }
    void SetString(const char* value) { m_string = value; }
    const char* GetString() const { return m_string.GetChars(); }
    void SetDescription(const char*) {}

private:
    int m_int = 0;
    SCString m_string;
};
typedef s_SCInput_145& SCInputRef;

// ---- the study interface ------------------------------------------------------------------

struct s_sc;
typedef s_sc& SCStudyInterfaceRef;

struct s_sc {
    // Study settings.
    int SetDefaults = 0;
    int LastCallToFunction = 0;
    SCString GraphName;
    SCString StudyDescription;
    int AutoLoop = 1;
    int UpdateAlways = 0;
    int GraphRegion = 0;
    int UsesMarketDepthData = 0;
    int MaintainTradeStatisticsAndTradesData = 0;
    int SendOrdersToTradeService = 0;
    int AllowMultipleEntriesInSameDirection = 0;
    int AllowOppositeEntryWithOpposingPositionOrOrders = 0;
    int AllowEntryWithWorkingOrders = 0;
    int SupportReversals = 0;
    int SupportAttachedOrdersForTrading = 0;
    int CancelAllOrdersOnEntriesAndReversals = 0;
    int CancelAllWorkingOrdersOnExit = 0;
    int AllowOnlyOneTradePerBar = 1;
    t_OrderQuantity32_64 MaximumPositionAllowed = 0;
    s_SCInput_145 Input[128];

    // Chart and symbol state.
    SCString Symbol;
    SCString SelectedTradeAccount;
    float TickSize = 0;
    float CurrencyValuePerTick = 0;
    float RealTimePriceMultiplier = 1.0f;
    int GlobalTradeSimulationIsOn = 0;
    int IsFullRecalculation = 0;
    int DownloadingHistoricalData = 0;
    int MenuEventID = 0;
    int PointerEventType = 0;
    int Index = 0;
    double TradeServiceAccountBalance = 0;

    // Platform functions: function pointers in the real header as well.
    int(SCDLLCALL* ModifyOrder)(s_SCNewOrder& OrderModifications) = nullptr;
    int(SCDLLCALL* CancelOrder)(uint64_t InternalOrderID) = nullptr;
    int(SCDLLCALL* CancelAllOrders)() = nullptr;
    int(SCDLLCALL* FlattenAndCancelAllOrders)() = nullptr;
    int(SCDLLCALL* GetOrderByIndex)(int OrderIndex, s_SCTradeOrder& r_SCTradeOrder) = nullptr;
    int(SCDLLCALL* GetOrderByOrderID)(uint64_t InternalOrderID,
                                      s_SCTradeOrder& r_SCTradeOrder) = nullptr;
    int(SCDLLCALL* GetOrderFillArraySize)() = nullptr;
    int(SCDLLCALL* GetOrderFillEntry)(unsigned int FillIndex,
                                      s_SCOrderFillData& r_FillData) = nullptr;
    void(SCDLLCALL* GetTimeAndSales)(c_SCTimeAndSalesArray& TSArray) = nullptr;
    int(SCDLLCALL* GetBidMarketDepthNumberOfLevels)() = nullptr;
    int(SCDLLCALL* GetAskMarketDepthNumberOfLevels)() = nullptr;
    int(SCDLLCALL* GetBidMarketDepthEntryAtLevel)(s_MarketDepthEntry& DepthEntry,
                                                  int LevelIndex) = nullptr;
    int(SCDLLCALL* GetAskMarketDepthEntryAtLevel)(s_MarketDepthEntry& DepthEntry,
                                                  int LevelIndex) = nullptr;
    void(SCDLLCALL* SetCustomStudyControlBarButtonText)(int ControlBarButtonNum,
                                                        const char* ButtonText) = nullptr;
    void(SCDLLCALL* SetCustomStudyControlBarButtonEnable)(int ControlBarButtonNum,
                                                          int Enabled) = nullptr;
    int(SCDLLCALL* VersionNumber)() = nullptr;
    void(SCDLLCALL* p_AddMessageToLog)(const char* Message, int ShowLog) = nullptr;
    double(SCDLLCALL* InternalSubmitOrder)(s_SCNewOrder& NewOrder, int BuySell) = nullptr;
    int(SCDLLCALL* InternalGetTradePosition)(s_SCPositionData& PositionData) = nullptr;
    SCDateTime(SCDLLCALL* InternalConvertDateTimeFromChartTimeZone)(
        const SCDateTime& DateTime, const char* TimeZonePOSIXString) = nullptr;

    // Inline members, as in the real header.
    double BuyOrder(s_SCNewOrder& r_NewOrder) { return InternalSubmitOrder(r_NewOrder, BSE_BUY); }
    double SellOrder(s_SCNewOrder& r_NewOrder) {
        return InternalSubmitOrder(r_NewOrder, BSE_SELL);
    }
    int GetTradePosition(s_SCPositionData& PositionData) {
        return InternalGetTradePosition(PositionData);
    }
    void AddMessageToLog(const char* Message, int ShowLog) { p_AddMessageToLog(Message, ShowLog); }
    void AddMessageToLog(const SCString& Message, int ShowLog) {
        p_AddMessageToLog(Message.GetChars(), ShowLog);
    }
    SCDateTime ConvertDateTimeFromChartTimeZone(const SCDateTime& DateTime, TimeZonesEnum TimeZone) {
        return InternalConvertDateTimeFromChartTimeZone(DateTime,
                                                        TimeZone == TIMEZONE_UTC ? "UTC+00" : "");
    }
    const char* GetTradingErrorTextMessage(int ErrorCode) {
        switch (ErrorCode) {
            case SCTRADING_ORDER_ERROR: return "General order error";
            case SCT_SKIPPED_DOWNLOADING_HISTORICAL_DATA:
                return "Order entry skipped because downloading historical data";
            case SCT_SKIPPED_FULL_RECALC: return "Order entry skipped because full recalculation";
            default: return "Unknown trading error";
        }
    }

    // Persistent storage, per study instance.
    void* GetPersistentPointer(int Key) { return m_persistent_pointers[Key]; }
    void SetPersistentPointer(int Key, void* Value) { m_persistent_pointers[Key] = Value; }
    int& GetPersistentInt(int Key) { return m_persistent_ints[Key]; }

private:
    std::map<int, void*> m_persistent_pointers;  // stub only: Sierra Chart keeps these
    std::map<int, int> m_persistent_ints;
};

#endif  // TICKBRIDGE_STUB_SIERRACHART_H
