// Client order ids: made by the engine, carried into the platform order (Sierra Chart
// text tag, NinjaTrader order name) and matched on every update coming back.
//
// Layout: high 32 bits = session epoch (the caller gives a new one at every engine start,
// e.g. a start counter kept in the state store), low 32 bits = a counter from 1 within the
// session. So ids never repeat across restarts, and sort by creation within a session.
// Text form: "TB" + 16 upper-case hex digits, e.g. "TB0000000100000001" (18 chars: fits
// Sierra Chart's text tag and NinjaTrader's order name).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tickbridge::orders {

using ClientOrderId = std::uint64_t;

constexpr ClientOrderId make_client_order_id(std::uint32_t session_epoch,
                                             std::uint32_t counter) noexcept {
    return (static_cast<std::uint64_t>(session_epoch) << 32) | counter;
}

constexpr std::uint32_t session_epoch_of(ClientOrderId id) noexcept {
    return static_cast<std::uint32_t>(id >> 32);
}

std::string format_client_order_id(ClientOrderId id);

// The id, or nullopt when `text` is not "TB" + exactly 16 hex digits (either case).
std::optional<ClientOrderId> parse_client_order_id(std::string_view text) noexcept;

// Platform execution ids are strings (NinjaTrader Execution.ExecutionId, Sierra Chart
// fill ids); the book de-duplicates on a 64-bit key of them (FNV-1a).
std::uint64_t exec_id_key(std::string_view exec_id) noexcept;

}  // namespace tickbridge::orders
