// Round-trips every golden frame of tests/vectors through the C++ codec (the very
// protocol.hpp and codec.cpp the shim is built from): validate, walk the records, encode
// them again with FrameWriter, and compare the bytes. Prints one line per file:
//   <file> OK <record type names...>      or      <file> FAIL <why>
// and exits non-zero if any file failed.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "tickbridge/protocol.hpp"

namespace protocol = tickbridge::protocol;

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: codec_vectors <tests/vectors>\n";
        return 2;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(argv[1]))
        if (entry.path().extension() == ".bin") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    int failures = 0;
    for (const auto& path : files) {
        std::ifstream in(path, std::ios::binary);
        const std::vector<char> raw((std::istreambuf_iterator<char>(in)), {});
        std::vector<std::byte> bytes(raw.size());
        std::memcpy(bytes.data(), raw.data(), raw.size());

        protocol::FrameHeader header{};
        protocol::FrameWriter writer;
        std::string names;
        std::vector<std::vector<std::byte>> records;
        auto error = protocol::for_each_record(bytes, header, [&](const protocol::RecordView& r) {
            names += " ";
            names += protocol::record_type_name(r.type);
            records.emplace_back(r.bytes.begin(), r.bytes.end());
        });
        if (error) {
            std::cout << path.filename().string() << " FAIL " << error->message << "\n";
            ++failures;
            continue;
        }
        writer.set_session_id(header.session_id);
        writer.begin(header.sequence, header.send_time_ns);
        for (const auto& record : records) writer.add_raw(record);
        const auto again = writer.finish();
        const bool same = again.size() == bytes.size() &&
                          std::memcmp(again.data(), bytes.data(), bytes.size()) == 0;
        std::cout << path.filename().string() << (same ? " OK" : " FAIL re-encoded bytes differ")
                  << names << "\n";
        if (!same) ++failures;
    }
    return failures == 0 ? 0 : 1;
}
