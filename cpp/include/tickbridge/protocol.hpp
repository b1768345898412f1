// tickbridge wire protocol v1: the source of truth. docs/protocol.md documents these
// bytes as tables; the Python (python/tickbridge/protocol) and C# (ninjascript/) codecs
// mirror them, and tests/vectors holds golden frames that all of them must round-trip.
//
// A frame is one ZeroMQ message: a 40-byte FrameHeader followed by `record_count`
// records. Every record starts with an 8-byte RecordHeader and has the fixed length of
// its type (SBE-style fixed layout), a multiple of 8, so that every field is naturally
// aligned and a run of same-type records is a packed array (zero-copy into numpy).
// All integers and doubles are little-endian; text is NUL-padded ASCII/UTF-8.
//
// C++17: this header and what it includes compile as C++17 too, because the ACSIL study
// (acsil/TickBridgeStudy.cpp, through the amalgamated TickBridgeShim.h) is built by Sierra
// Chart with /std:c++17. Under C++20 ByteSpan is std::span; under C++17 a minimal span of
// the same shape; WireRecord is a constexpr bool checked by enable_if, not a concept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "tickbridge/enums.hpp"

#if __cplusplus >= 202002L || (defined(_MSVC_LANG) && _MSVC_LANG >= 202002L)
#define TICKBRIDGE_HAS_STD_SPAN 1
#include <span>
#endif

namespace tickbridge::protocol {

// Without std::endian (C++20): every compiler Sierra Chart or this project uses says it by
// a predefined macro (GCC, Clang, MinGW), and MSVC targets only little-endian machines.
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the wire protocol is little-endian and decoded by memcpy");
#elif !defined(_MSC_VER)
#error "cannot tell this target's byte order; the wire protocol is little-endian"
#endif

#if defined(TICKBRIDGE_HAS_STD_SPAN)
using ByteSpan = std::span<const std::byte>;
#else
// The part of ByteSpan this library uses.
class ByteSpan {
public:
    constexpr ByteSpan() noexcept = default;
    constexpr ByteSpan(const std::byte* data, std::size_t size) noexcept
        : data_(data), size_(size) {}
    template <class Container, class = decltype(std::declval<const Container&>().data())>
    constexpr ByteSpan(const Container& bytes) noexcept  // NOLINT: implicit, as std::span
        : data_(bytes.data()), size_(bytes.size()) {}
    constexpr const std::byte* data() const noexcept { return data_; }
    constexpr std::size_t size() const noexcept { return size_; }
    constexpr bool empty() const noexcept { return size_ == 0; }
    constexpr const std::byte* begin() const noexcept { return data_; }
    constexpr const std::byte* end() const noexcept { return data_ + size_; }
    constexpr const std::byte& operator[](std::size_t i) const noexcept { return data_[i]; }
    constexpr ByteSpan subspan(std::size_t offset, std::size_t count) const noexcept {
        return {data_ + offset, count};
    }

private:
    const std::byte* data_ = nullptr;
    std::size_t size_ = 0;
};
#endif

inline constexpr std::uint32_t kMagic = 0x47524254;  // bytes "TBRG"
inline constexpr std::uint16_t kVersion = 1;
// Bounds a peer cannot exceed: a frame larger than this is refused before decoding.
inline constexpr std::size_t kMaxFrameBytes = 4u << 20;

enum class RecordType : std::uint16_t {
    // Both directions.
    Heartbeat = 0x0001,
    // Shim -> engine.
    Hello = 0x0101,
    InstrumentDefinition = 0x0102,
    Trade = 0x0103,
    Quote = 0x0104,
    Depth = 0x0105,
    OrderUpdate = 0x0106,
    Fill = 0x0107,
    Position = 0x0108,
    Account = 0x0109,
    CommandAck = 0x010A,
    CommandReject = 0x010B,
    SnapshotBoundary = 0x010C,
    PlatformStatus = 0x010D,
    // Engine (or kill CLI) -> shim.
    Submit = 0x0201,
    Cancel = 0x0202,
    Replace = 0x0203,
    CancelAll = 0x0204,
    Flatten = 0x0205,
    SnapshotRequest = 0x0206,
    Kill = 0x0207,
    TradingState = 0x0208,
};

// Why a command was refused or an order rejected; carried in CommandReject and OrderUpdate.
enum class RejectReason : std::uint16_t {
    None = 0,
    UnknownOrder = 1,
    TooLateToCancel = 2,
    OffTickPrice = 3,
    SessionClosed = 4,
    PlatformBusy = 5,  // Sierra Chart full recalculation or historical download
    InvalidQuantity = 6,
    DuplicateClientOrderId = 7,
    NotConnected = 8,
    PlatformRejected = 9,
    BadSecret = 10,
    UnknownInstrument = 11,
    RiskRefused = 12,
    Malformed = 13,
};

// Snapshot parts, a bitmask in SnapshotRequest.what.
enum SnapshotPart : std::uint32_t {
    kSnapshotOrders = 1,
    kSnapshotPositions = 2,
    kSnapshotFills = 4,
    kSnapshotAccount = 8,
};

struct FrameHeader {
    std::uint32_t magic;
    std::uint16_t version;
    std::uint16_t header_size;  // = sizeof(FrameHeader); lets a reader check the layout
    std::uint64_t session_id;   // sender's session, new at every start of the sender
    std::uint64_t sequence;     // per session, +1 per frame, first frame is 1
    std::int64_t send_time_ns;  // UTC nanoseconds at the sender
    std::uint32_t record_count;
    std::uint32_t flags;  // reserved, 0 in v1
};

struct RecordHeader {
    std::uint16_t type;    // RecordType
    std::uint16_t length;  // whole record in bytes, header included
    std::uint32_t instrument_id;  // sender's id from InstrumentDefinition; 0 when none
};

// ---- both directions ------------------------------------------------------------

struct Heartbeat {
    static constexpr RecordType kType = RecordType::Heartbeat;
    RecordHeader header;
    std::uint64_t ack_sequence;  // highest frame sequence received in order from the peer
    std::int64_t time_ns;
};

// ---- shim -> engine ---------------------------------------------------------------

struct Hello {
    static constexpr RecordType kType = RecordType::Hello;
    RecordHeader header;
    std::uint8_t platform;   // Platform
    std::uint8_t simulated;  // 1: the account is simulated (paper), 0: live
    std::uint16_t reserved;
    std::uint32_t heartbeat_interval_ms;
    char platform_version[24];
    char account[32];
};

struct InstrumentDefinition {
    static constexpr RecordType kType = RecordType::InstrumentDefinition;
    RecordHeader header;  // instrument_id: the id the sender uses in later records
    double tick_size;
    double point_value;  // currency per 1.0 of price per contract (ES: 50)
    char symbol[32];     // the platform's symbol, e.g. "ESZ6" or "ES 12-26"
    char exchange[16];
};

struct Trade {
    static constexpr RecordType kType = RecordType::Trade;
    RecordHeader header;
    std::int64_t time_ns;
    double price;
    std::uint32_t size;
    std::uint8_t aggressor;  // Aggressor
    std::uint8_t flags;      // reserved, 0
    std::uint16_t reserved;
};

struct Quote {
    static constexpr RecordType kType = RecordType::Quote;
    RecordHeader header;
    std::int64_t time_ns;
    double bid_price;
    double ask_price;
    std::uint32_t bid_size;
    std::uint32_t ask_size;
};

struct Depth {
    static constexpr RecordType kType = RecordType::Depth;
    RecordHeader header;
    std::int64_t time_ns;
    double price;
    std::uint32_t size;
    std::uint16_t level;  // 0 = best
    std::uint8_t side;    // 1 bid, 2 ask
    std::uint8_t action;  // 1 insert or update, 2 delete, 3 clear the side
};

struct OrderUpdate {
    static constexpr RecordType kType = RecordType::OrderUpdate;
    RecordHeader header;
    std::uint64_t client_order_id;  // 0 for an order the engine did not make (external)
    std::int64_t time_ns;
    double price;
    double stop_price;
    std::int64_t quantity;
    std::int64_t filled_quantity;
    double average_fill_price;
    std::uint8_t status;  // OrderStatus, as the platform sees it
    std::uint8_t side;    // Side
    std::uint8_t order_type;     // OrderType
    std::uint8_t time_in_force;  // TimeInForce
    std::uint16_t reason;        // RejectReason
    std::uint16_t reserved;
    char platform_order_id[32];
    char text[40];  // the platform's own words, e.g. a broker reject message
};

struct Fill {
    static constexpr RecordType kType = RecordType::Fill;
    RecordHeader header;
    std::uint64_t client_order_id;
    std::int64_t time_ns;
    double price;
    std::int64_t quantity;  // > 0; direction is `side`
    std::uint8_t side;      // Side
    std::uint8_t reserved[7];
    char execution_id[48];  // the platform's execution id: the de-duplication key
    char platform_order_id[32];
};

struct Position {
    static constexpr RecordType kType = RecordType::Position;
    RecordHeader header;
    std::int64_t time_ns;
    std::int64_t quantity;  // signed: long > 0, short < 0
    double average_price;
    double open_pnl;
};

struct Account {
    static constexpr RecordType kType = RecordType::Account;
    RecordHeader header;
    std::int64_t time_ns;
    double cash_balance;
    double realized_pnl;
    double unrealized_pnl;
    double net_liquidation;
};

struct CommandAck {
    static constexpr RecordType kType = RecordType::CommandAck;
    RecordHeader header;
    std::uint64_t request_id;  // the command's request_id
    std::uint64_t client_order_id;
    std::uint16_t command_type;  // RecordType of the command acknowledged
    std::uint16_t reserved[3];
};

struct CommandReject {
    static constexpr RecordType kType = RecordType::CommandReject;
    RecordHeader header;
    std::uint64_t request_id;
    std::uint64_t client_order_id;
    std::uint16_t command_type;  // RecordType of the command refused
    std::uint16_t reason;        // RejectReason
    std::uint32_t reserved;
    char text[64];
};

struct SnapshotBoundary {
    static constexpr RecordType kType = RecordType::SnapshotBoundary;
    RecordHeader header;
    std::uint64_t request_id;
    std::uint8_t phase;  // 1 begin, 2 end
    std::uint8_t reserved[3];
    std::uint32_t record_count;  // at the end: snapshot records sent since the begin
};

// Sent after the Hello and on every change of the platform's own connection (NinjaTrader's
// OnConnectionStatusUpdate, Sierra Chart's trade service connection). An ordinary sequenced
// record, acknowledged like any other; not a command.
struct PlatformStatus {
    static constexpr RecordType kType = RecordType::PlatformStatus;
    RecordHeader header;   // instrument_id 0
    std::int64_t time_ns;
    std::uint8_t orders;   // ConnectionState of the order (account) connection
    std::uint8_t prices;   // ConnectionState of the price (data) connection
    std::uint8_t reserved[6];
    char text[48];         // the platform's own words, e.g. its connection's name
};

// ---- engine -> shim ---------------------------------------------------------------

struct Submit {
    static constexpr RecordType kType = RecordType::Submit;
    RecordHeader header;
    std::uint64_t request_id;
    std::uint64_t client_order_id;  // goes into the platform order's text tag / name
    double price;       // limit price (Limit, StopLimit), else 0
    double stop_price;  // trigger (Stop, StopLimit), else 0
    std::int64_t quantity;
    std::uint8_t side;           // Side
    std::uint8_t order_type;     // OrderType
    std::uint8_t time_in_force;  // TimeInForce
    std::uint8_t reserved[5];
};

struct Cancel {
    static constexpr RecordType kType = RecordType::Cancel;
    RecordHeader header;
    std::uint64_t request_id;
    std::uint64_t client_order_id;
};

struct Replace {
    static constexpr RecordType kType = RecordType::Replace;
    RecordHeader header;
    std::uint64_t request_id;
    std::uint64_t client_order_id;
    double price;
    double stop_price;
    std::int64_t quantity;  // new total quantity, never below the filled quantity
};

struct CancelAll {
    static constexpr RecordType kType = RecordType::CancelAll;
    RecordHeader header;  // instrument_id 0: every instrument of the account
    std::uint64_t request_id;
};

struct Flatten {
    static constexpr RecordType kType = RecordType::Flatten;
    RecordHeader header;  // instrument_id 0: every instrument; cancels working orders too
    std::uint64_t request_id;
};

struct SnapshotRequest {
    static constexpr RecordType kType = RecordType::SnapshotRequest;
    RecordHeader header;
    std::uint64_t request_id;
    std::uint32_t what;  // SnapshotPart bits
    std::uint32_t reserved;
    std::int64_t fills_since_ns;  // fills at or after this instant; 0 = all the shim keeps
};

struct Kill {
    static constexpr RecordType kType = RecordType::Kill;
    RecordHeader header;
    std::uint64_t request_id;
    std::uint8_t flatten;  // 1: also close every position
    std::uint8_t reserved[7];
    char secret[32];  // the shim's kill secret
};

// Sent when a shim's Hello is accepted and on every change of the trading state that
// applies to the shim's account. The shim shows it and never acts on it: the engine enforces
// it. An ordinary sequenced record, not a command (no request_id, no CommandAck).
struct TradingState {
    static constexpr RecordType kType = RecordType::TradingState;
    RecordHeader header;  // instrument_id 0
    std::int64_t time_ns;
    std::uint8_t state;   // 0 ACTIVE, 1 REDUCING_ONLY, 2 HALTED (risk::TradingState)
    std::uint8_t reserved[7];
    char reason[48];      // why, in the engine's words
};

// The layout is the protocol: any change here must show in these checks and in the docs.
static_assert(sizeof(FrameHeader) == 40);
static_assert(sizeof(RecordHeader) == 8);
static_assert(sizeof(Heartbeat) == 24);
static_assert(sizeof(Hello) == 72);
static_assert(sizeof(InstrumentDefinition) == 72);
static_assert(sizeof(Trade) == 32);
static_assert(sizeof(Quote) == 40);
static_assert(sizeof(Depth) == 32);
static_assert(sizeof(OrderUpdate) == 144);
static_assert(sizeof(Fill) == 128);
static_assert(sizeof(Position) == 40);
static_assert(sizeof(Account) == 48);
static_assert(sizeof(CommandAck) == 32);
static_assert(sizeof(CommandReject) == 96);
static_assert(sizeof(SnapshotBoundary) == 24);
static_assert(sizeof(Submit) == 56);
static_assert(sizeof(Cancel) == 24);
static_assert(sizeof(Replace) == 48);
static_assert(sizeof(CancelAll) == 16);
static_assert(sizeof(Flatten) == 16);
static_assert(sizeof(SnapshotRequest) == 32);
static_assert(sizeof(Kill) == 56);
static_assert(sizeof(PlatformStatus) == 72);
static_assert(sizeof(TradingState) == 72);

template <class R, class = void>
inline constexpr bool kHasRecordType = false;
template <class R>
inline constexpr bool kHasRecordType<R, std::void_t<decltype(R::kType)>> = true;

// A record type of this protocol: fixed layout, copied by memcpy, a multiple of 8 bytes.
template <class R>
inline constexpr bool kIsWireRecord = std::is_trivially_copyable_v<R> &&
                                      std::is_standard_layout_v<R> && kHasRecordType<R> &&
                                      sizeof(R) % 8 == 0;
// For templates: template <class R, WireRecordOnly<R> = 0>.
template <class R>
using WireRecordOnly = std::enable_if_t<kIsWireRecord<R>, int>;

// Fixed length of a record type; 0 for a type this version does not know.
constexpr std::size_t record_length(RecordType type) noexcept {
    switch (type) {
        case RecordType::Heartbeat: return sizeof(Heartbeat);
        case RecordType::Hello: return sizeof(Hello);
        case RecordType::InstrumentDefinition: return sizeof(InstrumentDefinition);
        case RecordType::Trade: return sizeof(Trade);
        case RecordType::Quote: return sizeof(Quote);
        case RecordType::Depth: return sizeof(Depth);
        case RecordType::OrderUpdate: return sizeof(OrderUpdate);
        case RecordType::Fill: return sizeof(Fill);
        case RecordType::Position: return sizeof(Position);
        case RecordType::Account: return sizeof(Account);
        case RecordType::CommandAck: return sizeof(CommandAck);
        case RecordType::CommandReject: return sizeof(CommandReject);
        case RecordType::SnapshotBoundary: return sizeof(SnapshotBoundary);
        case RecordType::PlatformStatus: return sizeof(PlatformStatus);
        case RecordType::Submit: return sizeof(Submit);
        case RecordType::Cancel: return sizeof(Cancel);
        case RecordType::Replace: return sizeof(Replace);
        case RecordType::CancelAll: return sizeof(CancelAll);
        case RecordType::Flatten: return sizeof(Flatten);
        case RecordType::SnapshotRequest: return sizeof(SnapshotRequest);
        case RecordType::Kill: return sizeof(Kill);
        case RecordType::TradingState: return sizeof(TradingState);
    }
    return 0;
}

std::string_view record_type_name(RecordType type) noexcept;

// ---- text fields ---------------------------------------------------------------------

// Copies `text` into a NUL-padded field; false when it did not fit (the field then holds
// nothing, so a truncated id can never match the wrong order).
template <std::size_t N>
bool set_text(char (&field)[N], std::string_view text) noexcept {
    std::memset(field, 0, N);
    if (text.size() > N) return false;
    std::memcpy(field, text.data(), text.size());
    return true;
}

template <std::size_t N>
std::string_view get_text(const char (&field)[N]) noexcept {
    const void* nul = std::memchr(field, 0, N);
    return {field, nul ? static_cast<std::size_t>(static_cast<const char*>(nul) - field) : N};
}

// ---- encoding ------------------------------------------------------------------------

// Builds one frame. Reused across frames: begin() keeps the buffer's capacity, so a
// steady stream of frames does not allocate.
class FrameWriter {
public:
    explicit FrameWriter(std::uint64_t session_id = 0) : session_id_(session_id) {}

    void begin(std::uint64_t sequence, std::int64_t send_time_ns);

    template <class R, WireRecordOnly<R> = 0>
    void add(R record) {
        record.header.type = static_cast<std::uint16_t>(R::kType);
        record.header.length = static_cast<std::uint16_t>(sizeof(R));
        append_bytes(&record, sizeof(R));
        ++count_;
    }

    // Appends an already encoded record (type and length set by the caller).
    void add_raw(ByteSpan record);

    // Writes the record count into the header and returns the whole frame.
    ByteSpan finish();

    std::size_t record_count() const noexcept { return count_; }
    std::size_t size() const noexcept { return buffer_.size(); }
    std::uint64_t session_id() const noexcept { return session_id_; }
    void set_session_id(std::uint64_t id) noexcept { session_id_ = id; }

private:
    void append_bytes(const void* data, std::size_t n);

    std::uint64_t session_id_;
    std::uint32_t count_ = 0;
    std::vector<std::byte> buffer_;
};

// ---- decoding ------------------------------------------------------------------------

enum class DecodeErrorCode : std::uint8_t {
    Truncated = 1,           // fewer bytes than a frame header
    TooLarge = 2,            // beyond kMaxFrameBytes
    BadMagic = 3,
    UnsupportedVersion = 4,
    BadHeaderSize = 5,
    RecordHeaderPastEnd = 6, // a record header does not fit in what is left
    RecordPastEnd = 7,       // a record's length runs past the frame end
    UnknownRecordType = 8,
    BadRecordLength = 9,     // length differs from the fixed length of its type
    CountMismatch = 10,      // fewer records than record_count
    TrailingBytes = 11,      // bytes left after record_count records
};

struct DecodeError {
    DecodeErrorCode code;
    std::size_t offset;   // byte offset in the frame where the fault is
    std::string message;  // names the offset, the field and the reason
};

// One record inside a validated frame.
struct RecordView {
    RecordType type;
    std::uint32_t instrument_id;
    std::size_t offset;  // from the frame start
    ByteSpan bytes;

    template <class R, WireRecordOnly<R> = 0>
    R as() const noexcept {
        R out;
        std::memcpy(&out, bytes.data(), sizeof(R));
        return out;
    }
};

// Checks the whole frame (header and every record) before anything is applied, so a
// malformed frame is refused whole, never half-applied. On success fills `header`.
std::optional<DecodeError> validate_frame(ByteSpan frame, FrameHeader& header);

// Validates, then calls f(RecordView) for every record in order.
template <class F>
std::optional<DecodeError> for_each_record(ByteSpan frame, FrameHeader& header,
                                           F&& f) {
    if (auto error = validate_frame(frame, header)) return error;
    std::size_t offset = sizeof(FrameHeader);
    for (std::uint32_t i = 0; i < header.record_count; ++i) {
        RecordHeader rh;
        std::memcpy(&rh, frame.data() + offset, sizeof rh);
        f(RecordView{static_cast<RecordType>(rh.type), rh.instrument_id, offset,
                     frame.subspan(offset, rh.length)});
        offset += rh.length;
    }
    return std::nullopt;
}

}  // namespace tickbridge::protocol
