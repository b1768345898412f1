#include "tickbridge/signals/common.hpp"

namespace tickbridge::signals {

void throw_input_error(const char* field, const std::string& what) {
    throw std::invalid_argument(std::string(field) + " " + what);
}

}  // namespace tickbridge::signals
