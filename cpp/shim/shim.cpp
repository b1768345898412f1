// The shim's socket thread: ZeroMQ sockets, batching, heartbeats, outbox and resend,
// engine-silence detection and the kill endpoint. See tickbridge/shim/shim.hpp.
#include "tickbridge/shim/shim.hpp"

#include <zmq.h>

#if defined(__linux__)
#include <pthread.h>
#endif

#include <cerrno>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <random>
#include <string_view>
#include <utility>
#include <vector>

namespace tickbridge::shim {

namespace {

using protocol::RecordType;
using Clock = std::chrono::steady_clock;

std::int64_t utc_now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::uint64_t new_session_id() {
    std::random_device device;
    std::uint64_t id = (static_cast<std::uint64_t>(device()) << 32) ^ device();
    id ^= static_cast<std::uint64_t>(utc_now_ns());
    return id == 0 ? 1 : id;
}

bool is_command(RecordType type) noexcept {
    switch (type) {
        case RecordType::Submit:
        case RecordType::Cancel:
        case RecordType::Replace:
        case RecordType::CancelAll:
        case RecordType::Flatten:
        case RecordType::SnapshotRequest:
        case RecordType::Kill: return true;
        default: return false;
    }
}

bool is_z85_key(const std::string& text) noexcept {
    static constexpr std::string_view kZ85 =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
    if (text.size() != 40) return false;
    for (const char c : text)
        if (kZ85.find(c) == std::string_view::npos) return false;
    return true;
}

// `name = "value"` from a zmq.auth certificate file (pyzmq's and czmq's format); "" when
// the file cannot be read or has no such line.
std::string certificate_value(const std::string& path, std::string_view name) {
    std::ifstream file(path);
    std::string line;
    while (std::getline(file, line)) {
        const auto at = line.find(name);
        if (at == std::string::npos) continue;
        const auto open = line.find('"', at + name.size());
        const auto close = open == std::string::npos ? open : line.find('"', open + 1);
        if (close != std::string::npos) return line.substr(open + 1, close - open - 1);
    }
    return {};
}

}  // namespace

// ---- helpers shared with the study --------------------------------------------------------

bool resolve_curve_keys(const ShimConfig& config, CurveKeys& keys, std::string& error) {
    const std::string& server = config.curve_server_key;
    const std::string& client = config.curve_client_key;
    if (server.empty() || client.empty()) {
        error = "CURVE needs both the engine's public key and this shim's key";
        return false;
    }
    keys.server_public = is_z85_key(server) ? server : certificate_value(server, "public-key");
    if (!is_z85_key(keys.server_public)) {
        error = "engine public key '" + server +
                "': neither a z85 key (40 characters) nor a readable NAME.key file";
        return false;
    }
    if (is_z85_key(client)) {
        keys.client_secret = client;
        char derived[41] = {};
        if (zmq_curve_public(derived, client.c_str()) != 0) {
            error = "shim secret key: not a CURVE secret key";
            return false;
        }
        keys.client_public = derived;
    } else {
        keys.client_public = certificate_value(client, "public-key");
        keys.client_secret = certificate_value(client, "secret-key");
    }
    if (!is_z85_key(keys.client_public) || !is_z85_key(keys.client_secret)) {
        error = "shim key '" + client +
                "': neither a z85 secret key nor a readable NAME.key_secret file (with a "
                "secret-key line)";
        return false;
    }
    return true;
}

std::string client_order_id_to_tag(std::uint64_t client_order_id) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string tag = "TB";
    for (int shift = 60; shift >= 0; shift -= 4) tag += kHex[(client_order_id >> shift) & 0xF];
    return tag;
}

std::uint64_t client_order_id_from_tag(std::string_view tag) noexcept {
    if (tag.size() != 18 || tag[0] != 'T' || tag[1] != 'B') return 0;
    std::uint64_t id = 0;
    for (char c : tag.substr(2)) {
        std::uint64_t digit;
        if (c >= '0' && c <= '9') digit = static_cast<std::uint64_t>(c - '0');
        else if (c >= 'A' && c <= 'F') digit = static_cast<std::uint64_t>(c - 'A' + 10);
        else return 0;
        id = (id << 4) | digit;
    }
    return id;
}

bool Shim::secret_matches(const char (&field)[32], const std::string& secret) noexcept {
    // Both sides padded to 32 bytes and every byte compared, so the time taken does not
    // tell a caller how many leading bytes were right. An empty secret matches nothing.
    if (secret.empty() || secret.size() > 32) return false;
    unsigned char expected[32] = {};
    std::memcpy(expected, secret.data(), secret.size());
    volatile unsigned char diff = 0;
    for (std::size_t i = 0; i < 32; ++i)
        diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(field[i]) ^ expected[i]));
    return diff == 0;
}

bool Shim::is_durable(RecordType type) noexcept {
    switch (type) {
        case RecordType::OrderUpdate:
        case RecordType::Fill:
        case RecordType::Position:
        case RecordType::Account:
        case RecordType::CommandAck:
        case RecordType::CommandReject:
        case RecordType::SnapshotBoundary: return true;
        default: return false;
    }
}

bool Shim::is_market_data(RecordType type) noexcept {
    return type == RecordType::Trade || type == RecordType::Quote || type == RecordType::Depth;
}

// ---- platform thread ----------------------------------------------------------------------

Shim::Shim(ShimConfig config)
    : config_(std::move(config)),
      session_id_(new_session_id()),
      records_(config_.record_queue_capacity),
      commands_(config_.command_queue_capacity),
      logs_(256) {}

Shim::~Shim() { stop(); }

void Shim::start() {
    if (thread_.joinable()) return;
    stop_.store(false);
    live_threads_.fetch_add(1);
    thread_ = std::thread([this] { run(); });
}

void Shim::stop() {
    if (!thread_.joinable()) return;
    stop_.store(true);
    thread_.join();
}

std::vector<RecordSlot> Shim::take_unacknowledged() {
    stop();  // after the join the socket thread's unacknowledged_ and queue are ours
    std::vector<RecordSlot> out = std::move(unacknowledged_);
    unacknowledged_.clear();
    RecordSlot slot;
    while (records_.try_pop(slot))  // left only if the socket thread ended early
        if (is_durable(slot.type())) out.push_back(slot);
    for (const auto& waiting : backlog_)
        if (is_durable(waiting.type())) out.push_back(waiting);
    backlog_.clear();
    return out;
}

bool Shim::post_slot(const RecordSlot& slot) {
    flush();
    const bool market_data = is_market_data(slot.type());
    if (backlog_.empty() && records_.try_push(slot)) return true;
    if (market_data) {
        counters_.market_data_dropped.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    // An order event is never dropped here: it waits, in order, for room in the queue.
    if (backlog_.size() >= config_.backlog_max_records) {
        LogLine line;
        line.is_error = true;
        std::snprintf(line.text, sizeof line.text,
                      "tickbridge: platform backlog full (%zu records); engine link stalled",
                      backlog_.size());
        (void)logs_.try_push(line);
        backlog_.pop_front();
    }
    backlog_.push_back(slot);
    return true;
}

bool Shim::claim_kill(KillTicket ticket) noexcept {
    if (ticket.generation == 0) return true;  // no ticket: a kill of the platform's own
    std::uint32_t waiting = ticket.generation << 2 | 1;
    return kill_slots_[ticket.index % kKillTickets].state.compare_exchange_strong(
        waiting, ticket.generation << 2 | 2);
}

void Shim::release_kill(KillTicket ticket, int result) noexcept {
    if (ticket.generation == 0) return;
    KillSlot& slot = kill_slots_[ticket.index % kKillTickets];
    slot.last_result.store(result);
    std::uint32_t running = ticket.generation << 2 | 2;
    slot.state.compare_exchange_strong(running, ticket.generation << 2 | 1);
}

void Shim::finish_kill(KillTicket ticket, bool done, protocol::RejectReason reason,
                       const char* text) noexcept {
    if (ticket.generation == 0) return;
    KillAnswer answer;
    answer.index = ticket.index;
    answer.generation = ticket.generation;
    answer.done = done;
    answer.reason = static_cast<std::uint16_t>(reason);
    std::snprintf(answer.text, sizeof answer.text, "%s", text);
    // At most kKillTickets are ever running, and the queue holds twice that.
    (void)kill_answers_.try_push(answer);
}

void Shim::flush() {
    while (!backlog_.empty() && records_.try_push(backlog_.front())) backlog_.pop_front();
}

ShimStats Shim::stats() const noexcept {
    ShimStats s;
    s.frames_sent = counters_.frames_sent.load();
    s.records_sent = counters_.records_sent.load();
    s.frames_resent = counters_.frames_resent.load();
    s.market_data_dropped = counters_.market_data_dropped.load();
    s.engine_frames_received = counters_.engine_frames_received.load();
    s.bad_frames = counters_.bad_frames.load();
    s.retired_session_frames = counters_.retired_session_frames.load();
    s.kill_requests = counters_.kill_requests.load();
    s.last_ack_sequence = counters_.last_ack_sequence.load();
    s.outbox_frames = counters_.outbox_frames.load();
    s.engine_alive = counters_.engine_alive.load();
    s.kill_endpoint_bound = counters_.kill_endpoint_bound.load();
    return s;
}

// ---- socket thread ------------------------------------------------------------------------

struct Shim::Impl {
    Shim& shim;
    const ShimConfig& config;
    void* context = nullptr;
    void* engine = nullptr;  // DEALER connected to the engine's ROUTER
    void* kill = nullptr;    // ROUTER bound for the kill CLI
    Clock::time_point next_kill_bind_attempt{};
    bool kill_bind_error_logged = false;

    std::uint64_t next_sequence = 1;  // engine link
    std::uint64_t kill_sequence = 1;  // kill endpoint replies
    Clock::time_point last_send{};
    protocol::FrameWriter writer;
    std::vector<std::byte> scratch;

    struct OutboxFrame {
        std::uint64_t sequence;
        std::vector<std::byte> bytes;
    };
    std::deque<OutboxFrame> outbox;

    // Engine side of the link.
    std::uint64_t engine_session = 0;
    std::uint64_t engine_expected_sequence = 0;
    std::uint64_t engine_ack = 0;  // highest engine frame received in order: our ack_sequence
    bool engine_seen = false;
    bool engine_silent = false;
    Clock::time_point last_engine_frame{};
    // Engine sessions seen replaced by a newer one, the latest kRetiredSessions of them (a
    // ring): a frame of one is read late from a dead engine's connection and is dropped.
    static constexpr std::size_t kRetiredSessions = 16;
    std::uint64_t retired_sessions[kRetiredSessions] = {};
    std::size_t retired_count = 0;  // sessions ever retired; the ring holds the latest

    bool is_retired(std::uint64_t session) const noexcept {
        const std::size_t held =
            retired_count < kRetiredSessions ? retired_count : kRetiredSessions;
        for (std::size_t i = 0; i < held; ++i)
            if (retired_sessions[i] == session) return true;
        return false;
    }

    // What the platform said about itself, kept to repeat it to a restarted engine.
    std::vector<RecordSlot> hello;  // Hello then InstrumentDefinitions, latest per id
    std::vector<RecordSlot> thread_records;   // made by this thread (rejects), sent first
    std::deque<CommandSlot> pending_commands;  // command queue was full

    // The requester of each kill ticket in use: the kill endpoint's peer (its envelope) or
    // the engine; answered when the platform finishes the kill or its deadline passes.
    struct KillRequest {
        bool active = false;
        bool from_endpoint = false;
        std::uint32_t generation = 0;
        std::uint32_t instrument_id = 0;
        std::uint64_t request_id = 0;
        Clock::time_point deadline{};
        std::vector<std::vector<std::byte>> envelope;
    };
    KillRequest kill_requests[kKillTickets];

    explicit Impl(Shim& s) : shim(s), config(s.config_), writer(s.session_id_) {}
    ~Impl() { close(); }  // sockets closed and the context ended on every way out
    Impl(const Impl&) = delete;
    Impl& operator=(const Impl&) = delete;

    void log(bool error, const char* format, ...) {
        LogLine line;
        line.is_error = error;
        std::va_list args;
        va_start(args, format);
        std::vsnprintf(line.text, sizeof line.text, format, args);
        va_end(args);
        (void)shim.logs_.try_push(line);  // a full log queue loses log lines, nothing else
    }

    void open() {
        context = zmq_ctx_new();
        engine = zmq_socket(context, ZMQ_DEALER);
        int linger = config.linger_ms;
        zmq_setsockopt(engine, ZMQ_LINGER, &linger, sizeof linger);
        int hwm = config.send_high_water_mark;
        zmq_setsockopt(engine, ZMQ_SNDHWM, &hwm, sizeof hwm);
        int reconnect_ms = 100;
        zmq_setsockopt(engine, ZMQ_RECONNECT_IVL, &reconnect_ms, sizeof reconnect_ms);
        if (!config.curve_server_key.empty() || !config.curve_client_key.empty()) {
            // A CURVE client: the engine is who its public key says, and lets this shim in
            // only if its public key is on the engine's allow-list. Keys that cannot be
            // read or set mean no connection at all, never a plain one.
            CurveKeys keys;
            std::string error;
            const bool ok =
                resolve_curve_keys(config, keys, error) &&
                zmq_setsockopt(engine, ZMQ_CURVE_SERVERKEY, keys.server_public.c_str(), 41) == 0 &&
                zmq_setsockopt(engine, ZMQ_CURVE_PUBLICKEY, keys.client_public.c_str(), 41) == 0 &&
                zmq_setsockopt(engine, ZMQ_CURVE_SECRETKEY, keys.client_secret.c_str(), 41) == 0;
            if (!ok) {
                log(true, "tickbridge: CURVE keys: %s; not connecting to the engine",
                    error.empty() ? zmq_strerror(zmq_errno()) : error.c_str());
                try_bind_kill();
                return;
            }
            log(false, "tickbridge: CURVE client, key %s", keys.client_public.c_str());
        }
        if (zmq_connect(engine, config.engine_endpoint.c_str()) != 0) {
            log(true, "tickbridge: engine endpoint '%s': %s; fix the study input",
                config.engine_endpoint.c_str(), zmq_strerror(zmq_errno()));
        }
        try_bind_kill();
    }

    void try_bind_kill() {
        if (config.kill_endpoint.empty() || kill != nullptr) return;
        if (Clock::now() < next_kill_bind_attempt) return;
        void* socket = zmq_socket(context, ZMQ_ROUTER);
        int linger = 0;
        zmq_setsockopt(socket, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_bind(socket, config.kill_endpoint.c_str()) != 0) {
            const int error = zmq_errno();
            zmq_close(socket);
            next_kill_bind_attempt = Clock::now() + std::chrono::seconds(2);
            if (!kill_bind_error_logged) {
                log(true,
                    "tickbridge: kill endpoint '%s' cannot bind: %s (port taken by another "
                    "program or a Sierra Chart instance?); retrying every 2 s, choose another "
                    "port in the study inputs",
                    config.kill_endpoint.c_str(), zmq_strerror(error));
                kill_bind_error_logged = true;
            }
            return;
        }
        kill = socket;
        shim.counters_.kill_endpoint_bound.store(true);
        if (kill_bind_error_logged) log(false, "tickbridge: kill endpoint '%s' bound",
                                        config.kill_endpoint.c_str());
    }

    void close() {
        if (kill) zmq_close(kill);
        if (engine) zmq_close(engine);
        if (context) zmq_ctx_term(context);  // returns once linger has expired
        kill = engine = context = nullptr;
        shim.counters_.kill_endpoint_bound.store(false);
    }

    // -- sending -------------------------------------------------------------------------------

    void send_frame(protocol::ByteSpan frame, std::size_t records, bool durable,
                    std::uint64_t sequence) {
        if (durable) {
            outbox.push_back({sequence, std::vector<std::byte>(frame.begin(), frame.end())});
            if (outbox.size() > config.outbox_max_frames) {
                log(true,
                    "tickbridge: outbox over %zu unacknowledged frames; frame %llu dropped "
                    "(the engine must reconcile with a snapshot)",
                    config.outbox_max_frames,
                    static_cast<unsigned long long>(outbox.front().sequence));
                outbox.pop_front();
            }
            shim.counters_.outbox_frames.store(outbox.size());
        }
        const int rc = zmq_send(engine, frame.data(), frame.size(), ZMQ_DONTWAIT);
        if (rc < 0) {
            // ZeroMQ's queue towards a dead engine is full. Order events stay in the outbox
            // and are resent when the engine is back; market data is gone.
            if (!durable) shim.counters_.market_data_dropped.fetch_add(records);
            return;
        }
        last_send = Clock::now();
        shim.counters_.frames_sent.fetch_add(1, std::memory_order_relaxed);
        shim.counters_.records_sent.fetch_add(records, std::memory_order_relaxed);
    }

    void remember(const RecordSlot& slot) {
        const RecordType type = slot.type();
        if (type == RecordType::Hello) {
            hello.clear();
            hello.push_back(slot);
        } else if (type == RecordType::InstrumentDefinition) {
            std::uint32_t id;
            std::memcpy(&id, slot.bytes + 4, sizeof id);
            for (auto& kept : hello) {
                std::uint32_t kept_id;
                std::memcpy(&kept_id, kept.bytes + 4, sizeof kept_id);
                if (kept.type() == RecordType::InstrumentDefinition && kept_id == id) {
                    kept = slot;
                    return;
                }
            }
            hello.push_back(slot);
        } else if (type == RecordType::PlatformStatus) {
            // Not kept for a resend (an old one would overwrite a newer one at the engine):
            // the latest goes with every repeated Hello instead.
            for (auto& kept : hello) {
                if (kept.type() == RecordType::PlatformStatus) {
                    kept = slot;
                    return;
                }
            }
            if (!hello.empty()) hello.push_back(slot);
        }
    }

    // Moves queued records into frames of at most max_records_per_frame records.
    bool drain_records() {
        bool sent_any = false;
        RecordSlot slot;
        for (int frames = 0; frames < 64; ++frames) {
            std::size_t count = 0;
            bool durable = false;
            const std::uint64_t sequence = next_sequence;
            writer.begin(sequence, utc_now_ns());
            for (const auto& own : thread_records) {
                writer.add_raw({own.bytes, own.size});
                durable = true;
                ++count;
            }
            thread_records.clear();
            while (count < config.max_records_per_frame && shim.records_.try_pop(slot)) {
                remember(slot);
                durable = durable || is_durable(slot.type());
                writer.add_raw({slot.bytes, slot.size});
                ++count;
            }
            if (count == 0) break;
            ++next_sequence;
            send_frame(writer.finish(), count, durable, sequence);
            sent_any = true;
        }
        return sent_any;
    }

    void send_heartbeat() {
        protocol::Heartbeat beat{};
        beat.ack_sequence = engine_ack;
        beat.time_ns = utc_now_ns();
        const std::uint64_t sequence = next_sequence++;
        writer.begin(sequence, beat.time_ns);
        writer.add(beat);
        send_frame(writer.finish(), 1, false, sequence);
    }

    // A restarted engine (or one that was silent) gets Hello and the instruments again,
    // then every unacknowledged frame with its original sequence number.
    void rehello_and_resend() {
        if (!hello.empty()) {
            const std::uint64_t sequence = next_sequence++;
            writer.begin(sequence, utc_now_ns());
            for (const auto& slot : hello) writer.add_raw({slot.bytes, slot.size});
            send_frame(writer.finish(), hello.size(), false, sequence);
        }
        for (const auto& frame : outbox) {
            if (zmq_send(engine, frame.bytes.data(), frame.bytes.size(), ZMQ_DONTWAIT) >= 0)
                shim.counters_.frames_resent.fetch_add(1);
        }
        if (!outbox.empty())
            log(false, "tickbridge: resent %zu unacknowledged frames (%llu..%llu)",
                outbox.size(), static_cast<unsigned long long>(outbox.front().sequence),
                static_cast<unsigned long long>(outbox.back().sequence));
        last_send = Clock::now();
    }

    void reject_from_thread(const protocol::RecordView& view, protocol::RejectReason reason,
                            const char* text) {
        protocol::CommandReject reject{};
        reject.header.type = static_cast<std::uint16_t>(RecordType::CommandReject);
        reject.header.length = sizeof reject;
        reject.header.instrument_id = view.instrument_id;
        // Every command starts with header then request_id; most then carry client_order_id.
        std::memcpy(&reject.request_id, view.bytes.data() + 8, 8);
        if (view.type == RecordType::Submit || view.type == RecordType::Cancel ||
            view.type == RecordType::Replace)
            std::memcpy(&reject.client_order_id, view.bytes.data() + 16, 8);
        reject.command_type = static_cast<std::uint16_t>(view.type);
        reject.reason = static_cast<std::uint16_t>(reason);
        (void)protocol::set_text(reject.text, text);
        RecordSlot slot;
        slot.size = sizeof reject;
        std::memcpy(slot.bytes, &reject, sizeof reject);
        thread_records.push_back(slot);
    }

    // -- receiving from the engine -------------------------------------------------------------

    void queue_command(CommandSlot command) {
        if (pending_commands.empty() && shim.commands_.try_push(command)) return;
        pending_commands.push_back(command);
    }

    void retry_pending_commands() {
        while (!pending_commands.empty() && shim.commands_.try_push(pending_commands.front()))
            pending_commands.pop_front();
    }

    void on_engine_frame(protocol::ByteSpan frame) {
        protocol::FrameHeader header{};
        if (auto error = protocol::validate_frame(frame, header)) {
            shim.counters_.bad_frames.fetch_add(1);
            log(true, "tickbridge: engine frame refused: %s", error->message.c_str());
            return;
        }
        shim.counters_.engine_frames_received.fetch_add(1);
        if (is_retired(header.session_id)) {
            // A frame of an engine that has since restarted, read late from its dead
            // connection (ZeroMQ queues): its commands must not act after the new engine
            // compared this platform's orders, or the new one never learns of them (and a
            // copier's sync sends them again). Not acknowledged, not executed.
            shim.counters_.retired_session_frames.fetch_add(1);
            log(true, "tickbridge: frame %llu of engine session %016llx, replaced by %016llx: "
                "ignored",
                static_cast<unsigned long long>(header.sequence),
                static_cast<unsigned long long>(header.session_id),
                static_cast<unsigned long long>(engine_session));
            return;
        }
        const bool new_session = header.session_id != engine_session;
        if (new_session) {
            if (engine_seen) {
                log(false, "tickbridge: new engine session %016llx (engine restarted)",
                    static_cast<unsigned long long>(header.session_id));
                retired_sessions[retired_count++ % kRetiredSessions] = engine_session;
            }
            engine_session = header.session_id;
            engine_expected_sequence = header.sequence;
        }
        if (header.sequence < engine_expected_sequence) {
            log(true, "tickbridge: engine frame %llu repeated (expected %llu); ignored",
                static_cast<unsigned long long>(header.sequence),
                static_cast<unsigned long long>(engine_expected_sequence));
            return;
        }
        if (header.sequence > engine_expected_sequence)
            log(true, "tickbridge: engine frames %llu..%llu missing",
                static_cast<unsigned long long>(engine_expected_sequence),
                static_cast<unsigned long long>(header.sequence - 1));
        engine_expected_sequence = header.sequence + 1;
        engine_ack = header.sequence;
        last_engine_frame = Clock::now();
        const bool was_silent = engine_silent || !engine_seen;
        engine_seen = true;
        engine_silent = false;
        shim.counters_.engine_alive.store(true);
        if (new_session || was_silent) rehello_and_resend();

        std::size_t offset = sizeof(protocol::FrameHeader);
        for (std::uint32_t i = 0; i < header.record_count; ++i) {
            protocol::RecordHeader rh;
            std::memcpy(&rh, frame.data() + offset, sizeof rh);
            const protocol::RecordView view{static_cast<RecordType>(rh.type), rh.instrument_id,
                                            offset, frame.subspan(offset, rh.length)};
            offset += rh.length;
            on_engine_record(view);
        }
    }

    void on_engine_record(const protocol::RecordView& view) {
        if (view.type == RecordType::Heartbeat) {
            const auto beat = view.as<protocol::Heartbeat>();
            shim.counters_.last_ack_sequence.store(beat.ack_sequence);
            while (!outbox.empty() && outbox.front().sequence <= beat.ack_sequence)
                outbox.pop_front();
            shim.counters_.outbox_frames.store(outbox.size());
            return;
        }
        if (view.type == RecordType::TradingState) {
            // Shown by the platform (its status line), never acted on: the engine enforces.
            pending_trading_state = view.as<protocol::TradingState>();
            has_pending_trading_state = true;
            pass_trading_state();
            return;
        }
        if (!is_command(view.type)) {
            reject_from_thread(view, protocol::RejectReason::Malformed,
                               "not a command for a shim");
            return;
        }
        if (view.type == RecordType::Kill) {
            const auto kill_record = view.as<protocol::Kill>();
            if (!secret_matches(kill_record.secret, config.kill_secret)) {
                reject_from_thread(view, protocol::RejectReason::BadSecret, "bad kill secret");
                return;
            }
            shim.counters_.kill_requests.fetch_add(1);
        }
        CommandSlot command;
        command.origin = CommandOrigin::Engine;
        command.size = static_cast<std::uint16_t>(view.bytes.size());
        std::memcpy(command.bytes, view.bytes.data(), view.bytes.size());
        if (pending_commands.size() >= config.command_queue_capacity) {
            reject_from_thread(view, protocol::RejectReason::PlatformBusy,
                               "command queue full: the platform is not calling the study");
            return;
        }
        if (view.type == RecordType::Kill &&
            !open_kill_ticket(false, view.as<protocol::Kill>().request_id, view.instrument_id, {},
                              command)) {
            reject_from_thread(view, protocol::RejectReason::PlatformBusy,
                               "too many kills waiting for the platform");
            return;
        }
        queue_command(command);
    }

    // The engine's latest TradingState, until the platform's queue takes it.
    protocol::TradingState pending_trading_state{};
    bool has_pending_trading_state = false;

    void pass_trading_state() {
        if (has_pending_trading_state && shim.trading_states_.try_push(pending_trading_state))
            has_pending_trading_state = false;
    }

    // -- kill tickets ------------------------------------------------------------------------

    // A free ticket for a kill from `from_endpoint`'s requester; false when all are in use.
    bool open_kill_ticket(bool from_endpoint, std::uint64_t request_id,
                          std::uint32_t instrument_id,
                          std::vector<std::vector<std::byte>> envelope, CommandSlot& command) {
        for (std::size_t i = 0; i < kKillTickets; ++i) {
            KillRequest& request = kill_requests[i];
            if (request.active) continue;
            auto& slot = shim.kill_slots_[i];
            const std::uint32_t generation = ((slot.state.load() >> 2) + 1) & 0x3fffffff;
            const std::uint32_t live = generation == 0 ? 1 : generation;
            slot.last_result.store(0);
            slot.state.store(live << 2 | 1);
            request.active = true;
            request.from_endpoint = from_endpoint;
            request.generation = live;
            request.instrument_id = instrument_id;
            request.request_id = request_id;
            request.deadline = Clock::now() + std::chrono::milliseconds(config.kill_deadline_ms);
            request.envelope = std::move(envelope);
            command.ticket_index = static_cast<std::uint8_t>(i);
            command.ticket_generation = live;
            return true;
        }
        return false;
    }

    // The one answer to a kill's requester; frees its ticket.
    void answer_kill(std::size_t index, bool done, std::uint16_t reason, const char* text) {
        KillRequest& request = kill_requests[index];
        if (request.from_endpoint) {
            protocol::FrameWriter reply(shim.session_id_);
            reply.begin(kill_sequence++, utc_now_ns());
            add_kill_answer(reply, request.request_id, request.instrument_id, done, reason, text);
            const auto frame = reply.finish();
            for (const auto& part : request.envelope)
                zmq_send(kill, part.data(), part.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(kill, frame.data(), frame.size(), ZMQ_DONTWAIT);
        } else {
            RecordSlot slot;
            if (done) {
                protocol::CommandAck ack{};
                ack.header.type = static_cast<std::uint16_t>(RecordType::CommandAck);
                ack.header.length = sizeof ack;
                ack.header.instrument_id = request.instrument_id;
                ack.request_id = request.request_id;
                ack.command_type = static_cast<std::uint16_t>(RecordType::Kill);
                slot.size = sizeof ack;
                std::memcpy(slot.bytes, &ack, sizeof ack);
            } else {
                protocol::CommandReject reject{};
                reject.header.type = static_cast<std::uint16_t>(RecordType::CommandReject);
                reject.header.length = sizeof reject;
                reject.header.instrument_id = request.instrument_id;
                reject.request_id = request.request_id;
                reject.command_type = static_cast<std::uint16_t>(RecordType::Kill);
                reject.reason = reason;
                (void)protocol::set_text(reject.text, std::string_view(text).substr(0, 63));
                slot.size = sizeof reject;
                std::memcpy(slot.bytes, &reject, sizeof reject);
            }
            thread_records.push_back(slot);
        }
        request.active = false;
        request.envelope.clear();
        shim.kill_slots_[index].state.store(request.generation << 2);  // free
    }

    static void add_kill_answer(protocol::FrameWriter& reply, std::uint64_t request_id,
                                std::uint32_t instrument_id, bool done, std::uint16_t reason,
                                const char* text) {
        if (done) {
            protocol::CommandAck ack{};
            ack.header.instrument_id = instrument_id;
            ack.request_id = request_id;
            ack.command_type = static_cast<std::uint16_t>(RecordType::Kill);
            reply.add(ack);
            return;
        }
        protocol::CommandReject reject{};
        reject.header.instrument_id = instrument_id;
        reject.request_id = request_id;
        reject.command_type = static_cast<std::uint16_t>(RecordType::Kill);
        reject.reason = reason;
        (void)protocol::set_text(reject.text, std::string_view(text).substr(0, 63));
        reply.add(reject);
    }

    // What the platform did with its kills, to their requesters.
    void process_kill_answers() {
        KillAnswer answer;
        while (shim.kill_answers_.try_pop(answer)) {
            const std::size_t index = answer.index % kKillTickets;
            if (!kill_requests[index].active ||
                kill_requests[index].generation != answer.generation)
                continue;
            answer.text[sizeof answer.text - 1] = '\0';
            answer_kill(index, answer.done, answer.reason, answer.text);
        }
    }

    // A kill still waiting at its deadline (or when the link stops) is answered failed, and
    // taken from the platform in the same step: it will not run after that answer.
    void expire_kills(bool stopping) {
        const auto now = Clock::now();
        for (std::size_t i = 0; i < kKillTickets; ++i) {
            KillRequest& request = kill_requests[i];
            if (!request.active || (!stopping && now < request.deadline)) continue;
            auto& slot = shim.kill_slots_[i];
            std::uint32_t waiting = request.generation << 2 | 1;
            if (!slot.state.compare_exchange_strong(waiting, request.generation << 2 | 3))
                continue;  // the platform is running it right now: its answer follows
            const int last = slot.last_result.load();
            char text[64];
            if (stopping)
                std::snprintf(text, sizeof text, "not run: the study stopped first");
            else if (last != 0)
                std::snprintf(text, sizeof text, "not run in %u ms: the platform skipped it (%d)",
                              config.kill_deadline_ms, last);
            else
                std::snprintf(text, sizeof text, "not run in %u ms: the study was not called",
                              config.kill_deadline_ms);
            log(true, "tickbridge: KILL request %llu FAILED, %s; act by hand",
                static_cast<unsigned long long>(request.request_id), text);
            answer_kill(i, false, static_cast<std::uint16_t>(protocol::RejectReason::PlatformBusy),
                        text);
        }
    }

    // -- the kill endpoint ---------------------------------------------------------------------

    void on_kill_message() {
        std::vector<std::vector<std::byte>> parts;
        for (;;) {
            zmq_msg_t part;
            zmq_msg_init(&part);
            if (zmq_msg_recv(&part, kill, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&part);
                return;
            }
            const auto* data = static_cast<const std::byte*>(zmq_msg_data(&part));
            parts.emplace_back(data, data + zmq_msg_size(&part));
            const bool more = zmq_msg_more(&part) != 0;
            zmq_msg_close(&part);
            if (!more) break;
        }
        if (parts.size() < 2) return;  // a ROUTER always prefixes the peer identity
        const auto& payload = parts.back();

        protocol::FrameWriter reply(shim.session_id_);
        reply.begin(kill_sequence++, utc_now_ns());
        protocol::FrameHeader header{};
        auto error = protocol::for_each_record(payload, header, [&](const protocol::RecordView& view) {
            const std::uint64_t request_id =
                view.bytes.size() >= 16 ? view.as<protocol::CancelAll>().request_id : 0;
            if (view.type != RecordType::Kill) {
                protocol::CommandReject reject{};
                reject.request_id = request_id;
                reject.command_type = static_cast<std::uint16_t>(view.type);
                reject.reason = static_cast<std::uint16_t>(protocol::RejectReason::Malformed);
                (void)protocol::set_text(reject.text, "only Kill is accepted on this endpoint");
                reply.add(reject);
                return;
            }
            const auto kill_record = view.as<protocol::Kill>();
            if (!secret_matches(kill_record.secret, config.kill_secret)) {
                protocol::CommandReject reject{};
                reject.request_id = kill_record.request_id;
                reject.command_type = static_cast<std::uint16_t>(RecordType::Kill);
                reject.reason = static_cast<std::uint16_t>(protocol::RejectReason::BadSecret);
                (void)protocol::set_text(reject.text, "bad kill secret");
                reply.add(reject);
                log(true, "tickbridge: kill request %llu refused: bad secret",
                    static_cast<unsigned long long>(kill_record.request_id));
                return;
            }
            CommandSlot command;
            command.origin = CommandOrigin::KillEndpoint;
            command.size = sizeof(protocol::Kill);
            std::memcpy(command.bytes, view.bytes.data(), sizeof(protocol::Kill));
            // Answered when the platform has run it (what its call returned) or at the
            // deadline (not run), never before: no "done" for a kill not done.
            std::vector<std::vector<std::byte>> envelope(parts.begin(), parts.end() - 1);
            if (!open_kill_ticket(true, kill_record.request_id, 0, std::move(envelope), command)) {
                protocol::CommandReject reject{};
                reject.request_id = kill_record.request_id;
                reject.command_type = static_cast<std::uint16_t>(RecordType::Kill);
                reject.reason = static_cast<std::uint16_t>(protocol::RejectReason::PlatformBusy);
                (void)protocol::set_text(reject.text, "too many kills waiting for the platform");
                reply.add(reject);
                return;
            }
            queue_command(command);
            shim.counters_.kill_requests.fetch_add(1);
            log(false, "tickbridge: KILL request %llu received (flatten=%u); runs at the next "
                       "chart update, answered when it has run",
                static_cast<unsigned long long>(kill_record.request_id),
                static_cast<unsigned>(kill_record.flatten));
        });
        if (error) {
            protocol::CommandReject reject{};
            reject.command_type = static_cast<std::uint16_t>(RecordType::Kill);
            reject.reason = static_cast<std::uint16_t>(protocol::RejectReason::Malformed);
            (void)protocol::set_text(reject.text, std::string_view(error->message).substr(0, 64));
            reply.add(reject);
        }
        if (reply.record_count() == 0) return;  // every kill in it is answered later
        const auto frame = reply.finish();
        // Reply with the same envelope: identity (and the empty delimiter of a REQ peer).
        for (std::size_t i = 0; i + 1 < parts.size(); ++i)
            zmq_send(kill, parts[i].data(), parts[i].size(), ZMQ_SNDMORE | ZMQ_DONTWAIT);
        zmq_send(kill, frame.data(), frame.size(), ZMQ_DONTWAIT);
    }

    // -- the loop ------------------------------------------------------------------------------

    void check_engine_silence() {
        if (!engine_seen || engine_silent) return;
        const auto quiet = Clock::now() - last_engine_frame;
        const auto limit = std::chrono::milliseconds(
            static_cast<std::int64_t>(config.heartbeat_interval_ms) * config.silence_heartbeats);
        if (quiet < limit) return;
        engine_silent = true;
        shim.counters_.engine_alive.store(false);
        log(true, "tickbridge: no frame from the engine for %lld ms%s",
            static_cast<long long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(quiet).count()),
            config.cancel_on_disconnect ? "; canceling this shim's working orders" : "");
        if (config.cancel_on_disconnect) {
            CommandSlot command;
            command.origin = CommandOrigin::EngineSilence;
            queue_command(command);
        }
    }

    void loop() {
        const auto heartbeat = std::chrono::milliseconds(config.heartbeat_interval_ms);
        last_send = Clock::now();
        std::vector<std::byte> message(protocol::kMaxFrameBytes);
        bool busy = false;
        while (!shim.stop_.load(std::memory_order_acquire)) {
            zmq_pollitem_t items[2] = {{engine, 0, ZMQ_POLLIN, 0}, {kill, 0, ZMQ_POLLIN, 0}};
            const int n = kill ? 2 : 1;
            // Idle: sleep in poll until a frame arrives or poll_interval_ms passes (the most a
            // record posted meanwhile waits). Busy draining the queue: do not sleep at all.
            zmq_poll(items, n, busy ? 0L : static_cast<long>(config.poll_interval_ms));
            for (int burst = 0; burst < 1024; ++burst) {
                const int size = zmq_recv(engine, message.data(), message.size(), ZMQ_DONTWAIT);
                if (size < 0) break;
                if (static_cast<std::size_t>(size) > message.size()) {
                    shim.counters_.bad_frames.fetch_add(1);
                    log(true, "tickbridge: engine frame of %d bytes exceeds 4 MiB; refused", size);
                    continue;
                }
                on_engine_frame({message.data(), static_cast<std::size_t>(size)});
            }
            if (kill) {
                for (int burst = 0; burst < 64; ++burst) {
                    int events = 0;
                    std::size_t len = sizeof events;
                    zmq_getsockopt(kill, ZMQ_EVENTS, &events, &len);
                    if (!(events & ZMQ_POLLIN)) break;
                    on_kill_message();
                }
            } else {
                try_bind_kill();
            }
            retry_pending_commands();
            process_kill_answers();
            expire_kills(false);
            pass_trading_state();
            busy = drain_records();
            if (Clock::now() - last_send >= heartbeat) send_heartbeat();
            check_engine_silence();
        }
        process_kill_answers();
        expire_kills(true);
        drain_records();  // what the platform queued before its last call
        keep_unacknowledged();
    }

    // The records of the frames still in the outbox, for Shim::take_unacknowledged.
    void keep_unacknowledged() {
        for (const auto& frame : outbox) {
            protocol::FrameHeader header{};
            (void)protocol::for_each_record(
                protocol::ByteSpan(frame.bytes.data(), frame.bytes.size()), header,
                [&](const protocol::RecordView& view) {
                    if (!is_durable(view.type) || view.bytes.size() > kMaxRecordBytes) return;
                    RecordSlot slot;
                    slot.size = static_cast<std::uint16_t>(view.bytes.size());
                    std::memcpy(slot.bytes, view.bytes.data(), view.bytes.size());
                    shim.unacknowledged_.push_back(slot);
                });
        }
        outbox.clear();
    }
};

void Shim::run() noexcept {
#if defined(__linux__)
    pthread_setname_np(pthread_self(), "tickbridge-shim");  // seen in ps, gdb and the tests
#endif
    try {
        Impl impl(*this);
        impl.open();
        impl.loop();
    } catch (const std::exception& error) {
        // Nothing may escape into the platform: report and end the thread.
        LogLine line;
        line.is_error = true;
        std::snprintf(line.text, sizeof line.text, "tickbridge: socket thread stopped: %s",
                      error.what());
        (void)logs_.try_push(line);
    }
    live_threads_.fetch_sub(1);
}

}  // namespace tickbridge::shim
