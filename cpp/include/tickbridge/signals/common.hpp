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

inline void require_finite(double value, const char* field) {
    if (!std::isfinite(value)) [[unlikely]] {
        throw_input_error(field, "is not finite (" + std::to_string(value) +
                                     "); inputs must be finite, NaN is rejected");
    }
}

inline void require_side(std::uint8_t side) {
    if (side > 2) [[unlikely]] {
        throw_input_error("side", "is " + std::to_string(side) +
                                      "; aggressor codes are 0 unknown, 1 buy, 2 sell");
    }
}

inline void require_non_negative(double value, const char* field) {
    require_finite(value, field);
    if (value < 0.0) [[unlikely]] {
        throw_input_error(field, "is negative (" + std::to_string(value) + ")");
    }
}

}  // namespace tickbridge::signals
