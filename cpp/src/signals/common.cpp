#include "tickbridge/signals/common.hpp"

namespace tickbridge::signals {

void throw_input_error(const char* field, const std::string& what) {
    throw std::invalid_argument(std::string(field) + " " + what);
}

void throw_not_finite(const char* field, double value) {
    throw_input_error(field, "is not finite (" + std::to_string(value) +
                                 "); inputs must be finite, NaN is rejected");
}

void throw_bad_side(std::uint8_t side) {
    throw_input_error("side", "is " + std::to_string(side) +
                                  "; aggressor codes are 0 unknown, 1 buy, 2 sell");
}

void throw_negative(const char* field, double value) {
    throw_input_error(field, "is negative (" + std::to_string(value) + ")");
}

void throw_ts_backwards(std::int64_t ts, std::int64_t last_ts) {
    throw_input_error("ts", "goes backwards (" + std::to_string(ts) + " after " +
                                std::to_string(last_ts) + "); ticks must be in time order");
}

}  // namespace tickbridge::signals
