// Set of (execution id, client order id) pairs: fill de-duplication for orders with many
// fills (the order book scans a short order's own fills instead, which are in cache).
// Open addressing with linear probing: one cache line per lookup in the common case,
// no allocation per fill (std::unordered_map allocates a node per insert).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace tickbridge::orders {

class ExecIdIndex {
public:
    ExecIdIndex() { rehash(1024); }

    // Whether (exec_id, owner) is booked. exec_id 0 is never stored (refused upstream).
    bool contains(std::uint64_t exec_id, std::uint64_t owner) const noexcept {
        for (std::size_t i = slot_of(exec_id, owner);; i = (i + 1) & mask_) {
            const Slot& s = slots_[i];
            if (s.exec_id == exec_id && s.owner == owner) return true;
            if (s.exec_id == 0) return false;
        }
    }

    void insert(std::uint64_t exec_id, std::uint64_t owner) {
        if ((count_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
        place(exec_id, owner);
        ++count_;
    }

    void reserve(std::size_t n) {
        std::size_t want = 1024;
        while (want < n * 2) want *= 2;
        if (want > slots_.size()) rehash(want);
    }

    std::size_t size() const noexcept { return count_; }

private:
    struct Slot {
        std::uint64_t exec_id = 0;
        std::uint64_t owner = 0;
    };

    std::size_t slot_of(std::uint64_t exec_id, std::uint64_t owner) const noexcept {
        // Fibonacci hashing: spreads sequential ids (simulators count executions) too.
        const std::uint64_t key = exec_id ^ (owner * 0xC2B2AE3D27D4EB4FULL);
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> shift_);
    }

    void place(std::uint64_t exec_id, std::uint64_t owner) noexcept {
        std::size_t i = slot_of(exec_id, owner);
        while (slots_[i].exec_id != 0) i = (i + 1) & mask_;
        slots_[i] = {exec_id, owner};
    }

    void rehash(std::size_t capacity) {  // capacity: a power of two
        std::vector<Slot> old;
        old.swap(slots_);
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
        shift_ = 64;
        for (std::size_t c = capacity; c > 1; c >>= 1) --shift_;
        for (const Slot& s : old) {
            if (s.exec_id != 0) place(s.exec_id, s.owner);
        }
    }

    std::vector<Slot> slots_;
    std::size_t count_ = 0;
    std::size_t mask_ = 0;
    unsigned shift_ = 64;
};

}  // namespace tickbridge::orders
