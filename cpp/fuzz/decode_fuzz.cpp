// libFuzzer target for the frame decoder: any byte string must give either a decoded
// frame whose records lie inside the input, or a DecodeError whose offset lies inside it.
// Build: clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Icpp/include
//        cpp/fuzz/decode_fuzz.cpp cpp/src/protocol/codec.cpp
#include <cstdlib>

#include "tickbridge/protocol.hpp"

using namespace tickbridge::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::byte> frame(reinterpret_cast<const std::byte*>(data), size);
    FrameHeader header{};
    std::size_t records = 0;
    auto error = for_each_record(frame, header, [&](const RecordView& view) {
        if (view.offset + view.bytes.size() > size) std::abort();
        if (view.bytes.size() != record_length(view.type)) std::abort();
        ++records;
    });
    if (error) {
        if (error->offset > size || error->message.empty()) std::abort();
    } else if (records != header.record_count) {
        std::abort();
    }
    return 0;
}
