// Shared conventions of the signal kernels: aggressor side codes, the NaN policy,
// and the error every kernel raises for a bad input.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>

namespace tickbridge::signals {

// Aggressor side of a trade. The codes are the wire protocol's: 0 unknown, 1 buy
// (lifted the ask), 2 sell (hit the bid).
enum class Side : std::uint8_t { unknown = 0, buy = 1, sell = 2 };

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// NaN policy: inputs must be finite (a NaN price is a data error, never a gap
// marker); outputs are NaN while a value is not yet defined (warm-up, no volume).
[[noreturn]] void throw_input_error(const char* field, const std::string& what);
// The messages are built out of line: with the string code inside, the checks below
// were too big to inline and cost a call each, nine per tick on the engine's tick path.
[[noreturn]] void throw_not_finite(const char* field, double value);
[[noreturn]] void throw_bad_side(std::uint8_t side);
[[noreturn]] void throw_negative(const char* field, double value);
[[noreturn]] void throw_ts_backwards(std::int64_t ts, std::int64_t last_ts);

inline void require_finite(double value, const char* field) {
    if (!std::isfinite(value)) [[unlikely]] throw_not_finite(field, value);
}

inline void require_side(std::uint8_t side) {
    if (side > 2) [[unlikely]] throw_bad_side(side);
}

inline void require_non_negative(double value, const char* field) {
    require_finite(value, field);
    if (value < 0.0) [[unlikely]] throw_negative(field, value);
}

}  // namespace tickbridge::signals
