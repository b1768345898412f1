// A bounded, lock-free, single-producer single-consumer ring queue.
//
// The platform thread (Sierra Chart's study function) is the producer of encoded records
// and the consumer of commands; the shim's socket thread is the other end of each queue.
// Neither side ever blocks or takes a lock: a full queue is reported to the producer, who
// decides (market data is counted and dropped; order events are kept by the caller).
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace tickbridge::shim {

// 64 bytes on every x86-64 and most ARM cores; std::hardware_destructive_interference_size
// is not available in every standard library the study is built with (MinGW, older MSVC).
inline constexpr std::size_t kCacheLine = 64;

template <class T>
class SpscQueue {
    static_assert(std::is_trivially_copyable_v<T>, "slots are copied with plain assignment");

public:
    // `capacity` is rounded up to a power of two so that an index is a mask, not a division.
    explicit SpscQueue(std::size_t capacity)
        : mask_(round_up(capacity) - 1), slots_(std::make_unique<T[]>(mask_ + 1)) {}

    SpscQueue(const SpscQueue&) = delete;
    SpscQueue& operator=(const SpscQueue&) = delete;

    // Producer only. False when full; the item is then not taken.
    bool try_push(const T& item) noexcept {
        const std::size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_cache_ > mask_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (tail - head_cache_ > mask_) return false;
        }
        slots_[tail & mask_] = item;
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    // Producer only: `fill(T&)` writes the item in place (no intermediate copy).
    template <class Fill>
    bool try_push_with(Fill&& fill) noexcept {
        const std::size_t tail = tail_.load(std::memory_order_relaxed);
        if (tail - head_cache_ > mask_) {
            head_cache_ = head_.load(std::memory_order_acquire);
            if (tail - head_cache_ > mask_) return false;
        }
        fill(slots_[tail & mask_]);
        tail_.store(tail + 1, std::memory_order_release);
        return true;
    }

    // Consumer only. False when empty.
    bool try_pop(T& out) noexcept {
        const std::size_t head = head_.load(std::memory_order_relaxed);
        if (head == tail_cache_) {
            tail_cache_ = tail_.load(std::memory_order_acquire);
            if (head == tail_cache_) return false;
        }
        out = slots_[head & mask_];
        head_.store(head + 1, std::memory_order_release);
        return true;
    }

    // Either side; a snapshot that may be stale by the time it is read.
    std::size_t size_approx() const noexcept {
        return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
    }
    std::size_t capacity() const noexcept { return mask_ + 1; }

private:
    static std::size_t round_up(std::size_t n) noexcept {
        std::size_t p = 2;
        while (p < n) p <<= 1;
        return p;
    }

    const std::size_t mask_;
    std::unique_ptr<T[]> slots_;
    // Producer-owned line: its index and its cached view of the consumer's index.
    alignas(kCacheLine) std::atomic<std::size_t> tail_{0};
    std::size_t head_cache_ = 0;
    // Consumer-owned line.
    alignas(kCacheLine) std::atomic<std::size_t> head_{0};
    std::size_t tail_cache_ = 0;
};

}  // namespace tickbridge::shim
