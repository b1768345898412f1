// Frame encoding and validation for wire protocol v1 (see protocol.hpp).
#include <string>

#include "tickbridge/protocol.hpp"

namespace tickbridge::protocol {

std::string_view record_type_name(RecordType type) noexcept {
    switch (type) {
        case RecordType::Heartbeat: return "Heartbeat";
        case RecordType::Hello: return "Hello";
        case RecordType::InstrumentDefinition: return "InstrumentDefinition";
        case RecordType::Trade: return "Trade";
        case RecordType::Quote: return "Quote";
        case RecordType::Depth: return "Depth";
        case RecordType::OrderUpdate: return "OrderUpdate";
        case RecordType::Fill: return "Fill";
        case RecordType::Position: return "Position";
        case RecordType::Account: return "Account";
        case RecordType::CommandAck: return "CommandAck";
        case RecordType::CommandReject: return "CommandReject";
        case RecordType::SnapshotBoundary: return "SnapshotBoundary";
        case RecordType::PlatformStatus: return "PlatformStatus";
        case RecordType::Submit: return "Submit";
        case RecordType::Cancel: return "Cancel";
        case RecordType::Replace: return "Replace";
        case RecordType::CancelAll: return "CancelAll";
        case RecordType::Flatten: return "Flatten";
        case RecordType::SnapshotRequest: return "SnapshotRequest";
        case RecordType::Kill: return "Kill";
        case RecordType::TradingState: return "TradingState";
    }
    return "unknown";
}

void FrameWriter::begin(std::uint64_t sequence, std::int64_t send_time_ns) {
    buffer_.clear();
    count_ = 0;
    FrameHeader h{};
    h.magic = kMagic;
    h.version = kVersion;
    h.header_size = sizeof(FrameHeader);
    h.session_id = session_id_;
    h.sequence = sequence;
    h.send_time_ns = send_time_ns;
    append_bytes(&h, sizeof h);
}

void FrameWriter::append_bytes(const void* data, std::size_t n) {
    const auto* p = static_cast<const std::byte*>(data);
    buffer_.insert(buffer_.end(), p, p + n);
}

void FrameWriter::add_raw(ByteSpan record) {
    append_bytes(record.data(), record.size());
    ++count_;
}

ByteSpan FrameWriter::finish() {
    std::memcpy(buffer_.data() + offsetof(FrameHeader, record_count), &count_, sizeof count_);
    return buffer_;
}

namespace {

DecodeError fail(DecodeErrorCode code, std::size_t offset, std::string message) {
    return {code, offset, "byte " + std::to_string(offset) + ": " + std::move(message)};
}

}  // namespace

std::optional<DecodeError> validate_frame(ByteSpan frame, FrameHeader& header) {
    const std::size_t size = frame.size();
    if (size < sizeof(FrameHeader))
        return fail(DecodeErrorCode::Truncated, size,
                    "frame of " + std::to_string(size) + " bytes is shorter than the " +
                        std::to_string(sizeof(FrameHeader)) + "-byte frame header");
    if (size > kMaxFrameBytes)
        return fail(DecodeErrorCode::TooLarge, 0,
                    "frame of " + std::to_string(size) + " bytes exceeds the limit of " +
                        std::to_string(kMaxFrameBytes));
    std::memcpy(&header, frame.data(), sizeof header);
    if (header.magic != kMagic)
        return fail(DecodeErrorCode::BadMagic, 0, "bad magic: not a tickbridge frame");
    if (header.version != kVersion)
        return fail(DecodeErrorCode::UnsupportedVersion, offsetof(FrameHeader, version),
                    "protocol version " + std::to_string(header.version) +
                        " is not supported (this side speaks " + std::to_string(kVersion) + ")");
    if (header.header_size != sizeof(FrameHeader))
        return fail(DecodeErrorCode::BadHeaderSize, offsetof(FrameHeader, header_size),
                    "header_size " + std::to_string(header.header_size) + " (expected " +
                        std::to_string(sizeof(FrameHeader)) + ")");

    std::size_t offset = sizeof(FrameHeader);
    std::uint16_t run_type = 0;
    std::uint16_t run_length = 0;  // 0: no run yet (a checked record is never empty)
    for (std::uint32_t i = 0; i < header.record_count; ++i) {
        // Made only on failure: this loop runs once per tick on the hot path.
        const auto which = [i] { return "record " + std::to_string(i) + ": "; };
        if (offset == size)
            return fail(DecodeErrorCode::CountMismatch, offset,
                        "frame ends after " + std::to_string(i) + " records, header says " +
                            std::to_string(header.record_count));
        if (size - offset < sizeof(RecordHeader))
            return fail(DecodeErrorCode::RecordHeaderPastEnd, offset,
                        which() + "record header needs 8 bytes, " +
                            std::to_string(size - offset) + " left");
        RecordHeader rh;
        std::memcpy(&rh, frame.data() + offset, sizeof rh);
        // A run of one type (ticks): the length checked for the previous record holds.
        // The next offset then does not wait for this record's length to load.
        if (run_length != 0 && rh.type == run_type && rh.length == run_length &&
            size - offset >= run_length) {
            offset += run_length;
            continue;
        }
        const auto type = static_cast<RecordType>(rh.type);
        const std::size_t expected = record_length(type);
        if (expected == 0)
            return fail(DecodeErrorCode::UnknownRecordType, offset,
                        which() + "unknown record type " + std::to_string(rh.type));
        if (rh.length > size - offset)
            return fail(DecodeErrorCode::RecordPastEnd, offset,
                        which() + "record length " + std::to_string(rh.length) +
                            " runs past the frame end (" + std::to_string(size - offset) +
                            " bytes left)");
        if (rh.length != expected)
            return fail(DecodeErrorCode::BadRecordLength, offset,
                        which() + std::string(record_type_name(type)) + " length " +
                            std::to_string(rh.length) + " (expected " +
                            std::to_string(expected) + ")");
        run_type = rh.type;
        run_length = rh.length;
        offset += rh.length;
    }
    if (offset != size)
        return fail(DecodeErrorCode::TrailingBytes, offset,
                    std::to_string(size - offset) + " bytes after the last of " +
                        std::to_string(header.record_count) + " records");
    return std::nullopt;
}

}  // namespace tickbridge::protocol
