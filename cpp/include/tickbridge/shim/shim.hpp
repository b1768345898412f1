// The platform shim's engine link: what a platform thread (Sierra Chart's study function,
// the Linux harness) uses to talk to the engine without ever waiting on the network.
//
//   platform thread --post(record)--> [record queue] --> socket thread --frames--> engine
//   platform thread <-next_command()- [command queue] <-- socket thread <--frames-- engine
//                                                        socket thread <-- kill CLI (own ROUTER)
//
// The socket thread owns every ZeroMQ socket and never calls a platform function: a kill
// request and engine silence (cancel-on-disconnect) become commands on the command queue,
// which the platform executes on its next call. In Sierra Chart that call is the next
// chart update, so the study should run with a short chart update interval and
// sc.UpdateAlways = 1 (see acsil/README.md).
//
// Delivery (docs/protocol.md, "Delivery that loses nothing"): every frame that holds an
// order, fill, position, account, ack, reject or snapshot record stays in an outbox until
// the engine's Heartbeat.ack_sequence covers it, and is resent with its original sequence
// number when the engine comes back after silence or a new engine session is seen.
// Market data is never kept.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tickbridge/protocol.hpp"
#include "tickbridge/shim/spsc_queue.hpp"

namespace tickbridge::shim {

// The largest record of protocol v1 (OrderUpdate, 144 bytes) and command (Submit/Kill, 56).
inline constexpr std::size_t kMaxRecordBytes = 144;
inline constexpr std::size_t kMaxCommandBytes = 56;

// One encoded record on its way to the engine.
struct RecordSlot {
    std::uint16_t size = 0;
    std::uint16_t reserved[3] = {};
    // Only the first `size` bytes are meaningful; not zeroed, as it is written per record.
    alignas(8) std::byte bytes[kMaxRecordBytes];

    protocol::RecordType type() const noexcept {
        std::uint16_t t;
        std::memcpy(&t, bytes, sizeof t);
        return static_cast<protocol::RecordType>(t);
    }
};

// Where a command came from: the engine link, the kill endpoint, or the socket thread itself
// when the engine went silent.
enum class CommandOrigin : std::uint8_t { Engine = 1, KillEndpoint = 2, EngineSilence = 3 };

// How many kills (engine Kill records and kill endpoint requests) may wait for the
// platform at once; one more is refused at once (PlatformBusy).
inline constexpr std::size_t kKillTickets = 16;

// A Kill command carries a ticket: the socket thread answers its requester only when the
// platform reports what its call returned (Shim::finish_kill), or, when the platform has
// not run it by ShimConfig::kill_deadline_ms (study not called, or Sierra Chart skipping
// it), answers "failed, not run" and the platform must then not run it (claim_kill fails).
struct KillTicket {
    std::uint8_t index = 0;
    std::uint32_t generation = 0;  // 0: no ticket (a command that is not a Kill)
};

struct CommandSlot {
    CommandOrigin origin = CommandOrigin::Engine;
    std::uint8_t ticket_index = 0;       // Kill only: see KillTicket
    std::uint16_t size = 0;  // 0 for EngineSilence, which carries no record
    std::uint32_t ticket_generation = 0;  // Kill only; 0: none
    alignas(8) std::byte bytes[kMaxCommandBytes] = {};

    protocol::RecordType type() const noexcept {
        std::uint16_t t = 0;
        if (size >= 2) std::memcpy(&t, bytes, sizeof t);
        return static_cast<protocol::RecordType>(t);
    }
    template <class R, protocol::WireRecordOnly<R> = 0>
    R as() const noexcept {
        static_assert(sizeof(R) <= kMaxCommandBytes);
        R out;
        std::memcpy(&out, bytes, sizeof(R));
        return out;
    }
    KillTicket ticket() const noexcept { return {ticket_index, ticket_generation}; }
};

// A message from the socket thread for the platform's log (errors, reconnects).
struct LogLine {
    bool is_error = false;
    char text[247] = {};
};

struct ShimConfig {
    std::string engine_endpoint = "tcp://127.0.0.1:5555";  // the engine's ROUTER
    std::string kill_endpoint;                             // bound here; empty: no kill endpoint
    std::string kill_secret;                               // at most 32 bytes
    std::uint32_t heartbeat_interval_ms = 1000;
    std::uint32_t silence_heartbeats = 3;  // engine silent after this many quiet intervals
    bool cancel_on_disconnect = true;
    // A Kill the platform has not run this long after it arrived is answered failed (not
    // run) and is then never run: its requester is never told "done" for a kill not done.
    std::uint32_t kill_deadline_ms = 30000;
    std::size_t record_queue_capacity = 1u << 16;
    std::size_t command_queue_capacity = 1024;
    std::size_t max_records_per_frame = 1024;
    std::size_t outbox_max_frames = 100000;
    std::size_t backlog_max_records = 1u << 20;  // platform-side overflow for order events
    std::uint32_t poll_interval_ms = 1;          // socket thread wake-up when idle
    int send_high_water_mark = 10000;            // frames ZeroMQ may queue while disconnected
    int linger_ms = 200;                         // on stop: time to flush frames already sent
    // ZeroMQ CURVE (docs/security.md). Both empty: a plain connection. Else the engine's
    // public key (z85, 40 characters, or the path of its NAME.key file) and this shim's
    // key (its z85 secret key, or the path of its NAME.key_secret file, which holds both
    // halves); a key that cannot be read means no connection, never a plain one.
    std::string curve_server_key;
    std::string curve_client_key;
};

// The z85 keys of a CURVE client, from ShimConfig's two settings: false (and `error`
// says which setting and why) when either cannot be read.
struct CurveKeys {
    std::string server_public;
    std::string client_public;
    std::string client_secret;
};
bool resolve_curve_keys(const ShimConfig& config, CurveKeys& keys, std::string& error);

struct ShimStats {
    std::uint64_t frames_sent = 0;
    std::uint64_t records_sent = 0;
    std::uint64_t frames_resent = 0;
    std::uint64_t market_data_dropped = 0;  // records: queue full, or ZeroMQ would block
    std::uint64_t engine_frames_received = 0;
    std::uint64_t bad_frames = 0;
    std::uint64_t retired_session_frames = 0;  // frames of a replaced engine session: dropped
    std::uint64_t kill_requests = 0;
    std::uint64_t last_ack_sequence = 0;  // engine's Heartbeat.ack_sequence
    std::uint64_t outbox_frames = 0;
    bool engine_alive = false;
    bool kill_endpoint_bound = false;
};

class Shim {
public:
    explicit Shim(ShimConfig config);
    ~Shim();  // stops and joins the socket thread
    Shim(const Shim&) = delete;
    Shim& operator=(const Shim&) = delete;

    // Starts the socket thread (once). Errors (bad endpoint, port taken) do not stop it:
    // they are reported through next_log() and retried.
    void start();
    // Sends what is queued (best effort), closes the sockets with linger, joins the thread.
    void stop();
    bool running() const noexcept { return thread_.joinable(); }

    // ---- platform thread ----------------------------------------------------------------

    // Queues one record (type and length are set here). Never blocks. Market data is
    // dropped (and counted) when the queue is full; order events then wait in a
    // platform-side backlog that the next post() or flush() moves on first, in order.
    template <class R, protocol::WireRecordOnly<R> = 0>
    bool post(R record) {
        static_assert(sizeof(R) <= kMaxRecordBytes);
        record.header.type = static_cast<std::uint16_t>(R::kType);
        record.header.length = static_cast<std::uint16_t>(sizeof(R));
        const auto encode = [&record](RecordSlot& slot) {
            slot.size = static_cast<std::uint16_t>(sizeof(R));
            std::memcpy(slot.bytes, &record, sizeof(R));
        };
        if (!backlog_.empty()) flush();
        if (backlog_.empty() && records_.try_push_with(encode)) return true;  // the usual path
        RecordSlot slot;
        encode(slot);
        return post_slot(slot);
    }
    bool post_slot(const RecordSlot& slot);
    void flush();  // moves the backlog on; call once per platform call
    std::size_t backlog_size() const noexcept { return backlog_.size(); }

    // Stops the socket thread (if running) and returns the order events (durable records)
    // the engine has not acknowledged, then those still waiting on the platform side, in
    // order. A new Shim for the same chart (the link inputs changed) posts them again, so
    // a link restart loses none; the engine books each once (fills by execution id).
    std::vector<RecordSlot> take_unacknowledged();

    bool next_command(CommandSlot& out) noexcept { return commands_.try_pop(out); }

    // A Kill's ticket, around each try (platform thread): claim_kill before calling the
    // platform (false: its deadline passed and its requester was told it failed, so do
    // not run it); then finish_kill with the outcome (answered to the requester: a
    // CommandAck when `done`, else a CommandReject with `reason` and `text`), or
    // release_kill when the platform skipped it for now (tried again at a later call;
    // `result` is the platform's code, named in the answer if the deadline passes).
    bool claim_kill(KillTicket ticket) noexcept;
    void release_kill(KillTicket ticket, int result) noexcept;
    void finish_kill(KillTicket ticket, bool done, protocol::RejectReason reason,
                     const char* text) noexcept;
    bool next_log(LogLine& out) noexcept { return logs_.try_pop(out); }
    // The engine's TradingState records (engine -> shim), in order: shown, never acted on.
    bool next_trading_state(protocol::TradingState& out) noexcept {
        return trading_states_.try_pop(out);
    }

    // ---- either thread ------------------------------------------------------------------
    ShimStats stats() const noexcept;
    std::uint64_t session_id() const noexcept { return session_id_; }
    const ShimConfig& config() const noexcept { return config_; }

    // Socket threads alive in this process (tests check that the last call leaves none).
    static int live_threads() noexcept { return live_threads_.load(); }

    // Constant-time comparison of a NUL-padded secret field with the configured secret.
    static bool secret_matches(const char (&field)[32], const std::string& secret) noexcept;

    static bool is_durable(protocol::RecordType type) noexcept;
    static bool is_market_data(protocol::RecordType type) noexcept;

private:
    struct Impl;  // the socket thread's state; everything in it is touched by that thread only
    void run() noexcept;

    ShimConfig config_;
    std::uint64_t session_id_;
    SpscQueue<RecordSlot> records_;
    SpscQueue<CommandSlot> commands_;
    SpscQueue<LogLine> logs_;
    std::deque<RecordSlot> backlog_;  // platform thread only
    std::vector<RecordSlot> unacknowledged_;  // written by the socket thread as it ends

    // Kill tickets: state = generation << 2 | phase (0 free, 1 waiting, 2 running); a
    // compare-and-swap decides between the platform running a kill and the socket thread
    // giving up on it, so exactly one of them answers its requester.
    struct KillSlot {
        std::atomic<std::uint32_t> state{0};
        std::atomic<int> last_result{0};
    };
    KillSlot kill_slots_[kKillTickets];
    struct KillAnswer {
        std::uint8_t index = 0;
        bool done = false;
        std::uint16_t reason = 0;
        std::uint32_t generation = 0;
        char text[64] = {};
    };
    SpscQueue<KillAnswer> kill_answers_{kKillTickets * 2};
    SpscQueue<protocol::TradingState> trading_states_{64};
    std::atomic<bool> stop_{false};
    std::thread thread_;

    struct Counters {
        std::atomic<std::uint64_t> frames_sent{0}, records_sent{0}, frames_resent{0},
            market_data_dropped{0}, engine_frames_received{0}, bad_frames{0}, kill_requests{0},
            last_ack_sequence{0}, outbox_frames{0};
        std::atomic<std::uint64_t> retired_session_frames{0};
        std::atomic<bool> engine_alive{false}, kill_endpoint_bound{false};
    } counters_;

    static inline std::atomic<int> live_threads_{0};
};

// "TB" + 16 uppercase hex digits: the client order id as Sierra Chart's order text tag.
std::string client_order_id_to_tag(std::uint64_t client_order_id);
// 0 when `tag` is not a tickbridge tag (an order the engine did not make).
std::uint64_t client_order_id_from_tag(std::string_view tag) noexcept;

}  // namespace tickbridge::shim
