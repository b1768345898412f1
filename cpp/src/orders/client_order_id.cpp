#include "tickbridge/orders/client_order_id.hpp"

namespace tickbridge::orders {

namespace {
constexpr char kPrefix[] = "TB";
constexpr std::size_t kHexDigits = 16;

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
}  // namespace

std::string format_client_order_id(ClientOrderId id) {
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string text(2 + kHexDigits, '0');
    text[0] = kPrefix[0];
    text[1] = kPrefix[1];
    for (std::size_t i = 0; i < kHexDigits; ++i) {
        text[2 + kHexDigits - 1 - i] = kDigits[(id >> (4 * i)) & 0xF];
    }
    return text;
}

std::optional<ClientOrderId> parse_client_order_id(std::string_view text) noexcept {
    if (text.size() != 2 + kHexDigits || text[0] != kPrefix[0] || text[1] != kPrefix[1]) {
        return std::nullopt;
    }
    ClientOrderId id = 0;
    for (std::size_t i = 2; i < text.size(); ++i) {
        const int v = hex_value(text[i]);
        if (v < 0) return std::nullopt;
        id = (id << 4) | static_cast<ClientOrderId>(v);
    }
    return id;
}

std::uint64_t exec_id_key(std::string_view exec_id) noexcept {
    std::uint64_t hash = 14695981039346656037ULL;  // FNV-1a 64
    for (const char c : exec_id) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return hash;
}

}  // namespace tickbridge::orders
