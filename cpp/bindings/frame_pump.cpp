// The compiled receive path (engine.FramePump): waits on the engine's shim socket with the
// GIL released, reads [identity, frame], ingests the frame into the MarketCore when it is
// the next one of a known peer session, and sends the Submits of armed orders that fired
// before returning to Python. A tick that triggers an order never waits for the
// interpreter; Python books everything after, from what pump() returns.
//
// The socket stays pyzmq's (Socket.underlying); this file only calls the libzmq pyzmq
// loaded (libzmq_api.hpp), on the engine's thread, as pyzmq would.
#include <pybind11/pybind11.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "errors.hpp"
#include "market_core_glue.hpp"

namespace py = pybind11;

#if __has_include(<zmq.h>)
#include "libzmq_api.hpp"

namespace {

using tickbridge::engine::FireOutcome;
using tickbridge::protocol::FrameHeader;

// One received message part, read by Python through the buffer protocol, not copied.
class ReceivedFrame {
public:
    explicit ReceivedFrame(const LibzmqApi& api) : api_(&api) { api.msg_init(&msg_); }
    ~ReceivedFrame() { api_->msg_close(&msg_); }
    ReceivedFrame(const ReceivedFrame&) = delete;
    ReceivedFrame& operator=(const ReceivedFrame&) = delete;

    zmq_msg_t* msg() noexcept { return &msg_; }
    std::span<const std::byte> bytes() noexcept {
        return {static_cast<const std::byte*>(api_->msg_data(&msg_)), api_->msg_size(&msg_)};
    }
    bool more() noexcept { return api_->msg_more(&msg_) != 0; }
    // The ZAP handler's User-Id for the connection this message came on (with CURVE and
    // zmq.auth: the client's z85 public key), or "" when there is none.
    std::string user_id() noexcept {
        const char* value = api_->msg_gets(&msg_, "User-Id");
        return value != nullptr ? std::string(value) : std::string();
    }

private:
    const LibzmqApi* api_;
    zmq_msg_t msg_{};
};

// What the engine has told the pump of one shim session (by MarketCore session slot).
struct Peer {
    std::string identity;
    bool registered = false;
    bool known = false;             // its peer session is set (after its hello)
    std::uint64_t peer_session = 0;
    std::uint64_t last_sequence = 0;  // the last frame applied; the pump ingests the next only
    bool direct = true;             // nothing queued for it: the pump may send to it
};

struct DirectSend {
    std::uint32_t slot;
    std::vector<std::byte> frame;
    int error;  // 0 sent; else the errno (EAGAIN, EHOSTUNREACH): Python queues it
};

// A frame the pump sent (or could not): FramePump.pump's SentFrame.
struct SentFrame {
    std::uint32_t slot;
    py::bytes frame;
    int error;
};

// Market-only frames of one session taken before the one returned (set_absorb).
struct AbsorbedFrames {
    std::uint32_t slot = 0;
    std::uint32_t frames = 0;
    std::uint64_t ticks = 0;
    std::uint64_t last_sequence = 0;
};

// What one pump() call got. identity/frame: None when only absorbed frames came.
// ingested/error: the pump's ingest of the frame (both None: Python reads the frame
// itself); sent: [SentFrame], or None when Python must send the Submits.
struct Pumped {
    py::object identity = py::none();
    py::object frame = py::none();
    py::object ingested = py::none();
    py::object error = py::none();
    py::object sent = py::none();
    py::object absorbed = py::none();
    bool handled() const { return !ingested.is_none() || !error.is_none(); }
};

class FramePump {
public:
    FramePump(py::object core, std::uintptr_t socket, std::uint64_t engine_session, int major,
              int minor, int patch)
        : api_(loaded_libzmq(major, minor, patch)),
          core_object_(std::move(core)),
          core_(core_object_.cast<PyMarketCore&>()),
          socket_(reinterpret_cast<void*>(socket)),
          writer_(engine_session) {}

    void add_peer(const std::string& identity, std::uint32_t slot) {
        if (slot >= peers_.size()) peers_.resize(slot + 1);
        peers_[slot] = Peer{identity, true};
        slots_[identity] = slot;
    }

    void remove_peer(const std::string& identity) {
        const auto it = slots_.find(identity);
        if (it == slots_.end()) return;
        peers_[it->second] = Peer{};
        slots_.erase(it);
    }

    void set_peer(std::uint32_t slot, std::uint64_t peer_session, std::uint64_t last_sequence) {
        Peer& p = peers_.at(slot);
        p.known = peer_session != 0;
        p.peer_session = peer_session;
        p.last_sequence = last_sequence;
    }

    void set_direct(std::uint32_t slot, bool direct) { peers_.at(slot).direct = direct; }

    // Up to `frames` market-only frames in a row (nothing in them for Python) are taken
    // without returning, while more are queued; 0: every frame returns (a capture needs
    // each one).
    void set_absorb(std::uint32_t frames) { absorb_max_ = frames; }

    // None when nothing arrived in time; else a Pumped: the frame (None when nothing
    // followed the absorbed ones), what the pump did with it (ingested, or the
    // ProtocolError; both None when Python must read it: an unknown peer, a gap, a
    // resend, a new session), the Submits it sent (None when Python must send them), and
    // the market-only frames of one session taken before this one (set_absorb), for
    // Python to book first.
    py::object pump(int timeout_ms, int spin_us) {
        std::unique_ptr<ReceivedFrame> identity;
        std::unique_ptr<ReceivedFrame> frame;
        bool got = false;
        bool whole = true;  // exactly [identity, frame]
        bool ingested = false;
        int recv_error = 0;
        std::optional<tickbridge::protocol::DecodeError> error;
        std::vector<DirectSend> sent;
        bool sent_directly = false;
        Absorbed absorbed;
        {
            py::gil_scoped_release release;
            spin(spin_us);
            int flags = 0;
            if (timeout_ms == 0) {
                flags = ZMQ_DONTWAIT;
            } else if (timeout_ms != rcvtimeo_) {
                api_.setsockopt(socket_, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms);
                rcvtimeo_ = timeout_ms;
            }
            for (;;) {
                identity = std::make_unique<ReceivedFrame>(api_);
                frame = std::make_unique<ReceivedFrame>(api_);
                if (api_.msg_recv(identity->msg(), socket_, flags) < 0) {
                    recv_error = errno;
                    break;
                }
                got = true;
                // The rest of a message arrives with its first part: no waiting below.
                whole = identity->more() && api_.msg_recv(frame->msg(), socket_, 0) >= 0;
                if (whole && frame->more()) {
                    whole = false;  // a peer sending multipart messages: drained, refused
                    ReceivedFrame extra(api_);
                    while (api_.msg_recv(extra.msg(), socket_, 0) >= 0 && extra.more()) {
                    }
                }
                if (whole) ingested = ingest(*identity, *frame, error, sent, sent_directly);
                if (!ingested || error || !absorb(absorbed)) break;
                got = ingested = false;  // taken: read the next one, which is queued
                flags = ZMQ_DONTWAIT;
            }
        }
        Pumped out;
        if (absorbed.frames > 0)
            out.absorbed = py::cast(AbsorbedFrames{absorbed.slot, absorbed.frames, absorbed.ticks,
                                                   absorbed.last_sequence});
        if (!got) {
            if (recv_error != EAGAIN && recv_error != EINTR)
                throw std::runtime_error(std::string("receive on the shim socket: ") +
                                         api_.strerror(recv_error));
            if (absorbed.frames == 0) return py::none();
            return py::cast(std::move(out));
        }
        const auto id = identity->bytes();
        out.identity = py::bytes(reinterpret_cast<const char*>(id.data()), id.size());
        if (!whole) {
            out.frame = py::bytes();
            return py::cast(std::move(out));
        }
        py::object owner = py::cast(std::move(frame));
        out.frame = py::reinterpret_steal<py::object>(PyMemoryView_FromObject(owner.ptr()));
        if (!out.frame) throw py::error_already_set();
        if (!ingested) return py::cast(std::move(out));
        if (error) {
            out.error = protocol_error_object(*error);
            return py::cast(std::move(out));
        }
        out.ingested = ingest_result_object(core_);
        if (sent_directly) {
            py::list list;
            for (const auto& s : sent)
                list.append(SentFrame{
                    s.slot, py::bytes(reinterpret_cast<const char*>(s.frame.data()), s.frame.size()),
                    s.error});
            out.sent = list;
        }
        return py::cast(std::move(out));
    }

private:
    // Busy-polls up to spin_us for a message (ZMQ_EVENTS: no system call while empty).
    void spin(int spin_us) {
        if (spin_us <= 0) return;
        const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
        int events = 0;
        std::size_t size = sizeof events;
        do {
            if (api_.getsockopt(socket_, ZMQ_EVENTS, &events, &size) == 0 && (events & ZMQ_POLLIN))
                return;
        } while (std::chrono::steady_clock::now() < end);
    }

    using Absorbed = AbsorbedFrames;

    // The frame just ingested is counted instead of returned when nothing in it is for
    // Python (no order events, hello, bars, fired triggers or orders, undefined
    // instruments), it is of the same session as those counted before, and another
    // message is already queued. Without the GIL.
    bool absorb(Absorbed& absorbed) {
        const auto& r = core_.result;
        if (absorbed.frames >= absorb_max_ || !r.others.empty() || !r.events.empty() ||
            !r.fired.empty() || r.unknown_instrument != 0)
            return false;
        if (absorbed.frames > 0 && absorbed.slot != last_slot_) return false;
        int events = 0;
        std::size_t size = sizeof events;
        if (api_.getsockopt(socket_, ZMQ_EVENTS, &events, &size) != 0 || !(events & ZMQ_POLLIN))
            return false;
        absorbed.slot = last_slot_;
        ++absorbed.frames;
        absorbed.ticks += r.trades + r.quotes;
        absorbed.last_sequence = r.header.sequence;
        return true;
    }

    // Runs without the GIL. True when the frame was ingested here.
    bool ingest(ReceivedFrame& identity, ReceivedFrame& frame,
                std::optional<tickbridge::protocol::DecodeError>& error,
                std::vector<DirectSend>& sent, bool& sent_directly) {
        const auto id = identity.bytes();
        const auto it = slots_.find(std::string(reinterpret_cast<const char*>(id.data()), id.size()));
        if (it == slots_.end()) return false;
        Peer& peer = peers_[it->second];
        const auto bytes = frame.bytes();
        if (!peer.known || bytes.size() < sizeof(FrameHeader)) return false;
        std::uint64_t peer_session = 0;
        std::uint64_t sequence = 0;
        std::memcpy(&peer_session, bytes.data() + offsetof(FrameHeader, session_id), sizeof peer_session);
        std::memcpy(&sequence, bytes.data() + offsetof(FrameHeader, sequence), sizeof sequence);
        // Only the next frame of the session it knows: a resend, a gap or a new session
        // needs the engine's bookkeeping first, so Python reads those itself.
        if (peer_session != peer.peer_session || sequence != peer.last_sequence + 1) return false;
        error = core_.core.ingest(it->second, bytes, core_.result);
        last_slot_ = it->second;
        if (error) return true;
        peer.last_sequence = sequence;
        if (!core_.result.submits.empty()) sent_directly = send_submits(sent);
        return true;
    }

    // The Sent armed orders' Submits, one frame per shim, when every one of those shims
    // can take them now; otherwise none is sent here and Python sends them all.
    bool send_submits(std::vector<DirectSend>& sent) {
        const auto& fired = core_.result.fired;
        std::vector<std::uint32_t> slots;
        for (const auto& f : fired) {
            if (f.outcome != FireOutcome::Sent) continue;
            if (f.session >= peers_.size() || !peers_[f.session].registered || !peers_[f.session].direct)
                return false;
            if (std::find(slots.begin(), slots.end(), f.session) == slots.end()) slots.push_back(f.session);
        }
        const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                std::chrono::system_clock::now().time_since_epoch()).count();
        const std::span<const std::byte> submits(core_.result.submits);
        for (const auto slot : slots) {
            writer_.begin(core_.core.next_tx_sequence(slot), now_ns);
            std::size_t offset = 0;
            for (const auto& f : fired) {
                if (f.outcome != FireOutcome::Sent) continue;
                if (f.session == slot)
                    writer_.add_raw(submits.subspan(offset, sizeof(tickbridge::protocol::Submit)));
                offset += sizeof(tickbridge::protocol::Submit);
            }
            const auto out = writer_.finish();
            const auto& identity = peers_[slot].identity;
            int err = 0;
            // With ROUTER_MANDATORY an unroutable peer fails on the first part.
            if (api_.send(socket_, identity.data(), identity.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
                api_.send(socket_, out.data(), out.size(), ZMQ_DONTWAIT) < 0)
                err = errno;
            sent.push_back({slot, {out.begin(), out.end()}, err});
        }
        // The frames leave on libzmq's I/O thread; this thread goes on to the Python
        // bookkeeping at once. On a machine with fewer free cores than runnable threads
        // the I/O thread waits for a time slice (measured: p50 1.4 ms from the leader's
        // fill to the follower's Submit at load 4 on 2 cores, 0.17 ms with this yield).
        std::this_thread::yield();
        return true;
    }

    const LibzmqApi& api_;
    py::object core_object_;  // keeps the core alive as long as the pump
    PyMarketCore& core_;
    void* socket_;            // pyzmq's; the engine closes it after the pump is gone
    tickbridge::protocol::FrameWriter writer_;
    std::vector<Peer> peers_;  // by session slot
    std::unordered_map<std::string, std::uint32_t> slots_;  // identity -> session slot
    int rcvtimeo_ = -2;        // what the socket's ZMQ_RCVTIMEO was last set to
    std::uint32_t absorb_max_ = 0;
    std::uint32_t last_slot_ = 0;  // of the frame last ingested
};

}  // namespace

void bind_frame_pump(py::module_& m) {
    py::class_<SentFrame>(m, "SentFrame", "A frame of Submits the pump sent: errno 0, or why not.")
        .def_readonly("slot", &SentFrame::slot)
        .def_readonly("frame", &SentFrame::frame)
        .def_readonly("errno", &SentFrame::error);
    py::class_<AbsorbedFrames>(m, "AbsorbedFrames",
                               "Market-only frames of one session the pump took in a row.")
        .def_readonly("slot", &AbsorbedFrames::slot)
        .def_readonly("frames", &AbsorbedFrames::frames)
        .def_readonly("ticks", &AbsorbedFrames::ticks)
        .def_readonly("last_sequence", &AbsorbedFrames::last_sequence)
        .def("__repr__", [](const AbsorbedFrames& a) {
            return "AbsorbedFrames(slot=" + std::to_string(a.slot) + ", frames=" +
                   std::to_string(a.frames) + ", ticks=" + std::to_string(a.ticks) +
                   ", last_sequence=" + std::to_string(a.last_sequence) + ")";
        });
    py::class_<Pumped>(m, "Pumped", "What one FramePump.pump call got (see frame_pump.cpp).")
        .def_readonly("identity", &Pumped::identity)
        .def_readonly("frame", &Pumped::frame)
        .def_readonly("ingested", &Pumped::ingested)
        .def_readonly("error", &Pumped::error)
        .def_readonly("sent", &Pumped::sent)
        .def_readonly("absorbed", &Pumped::absorbed)
        .def_property_readonly("handled", &Pumped::handled,
                               "The pump ingested the frame (or found it malformed).");
    py::class_<ReceivedFrame, std::unique_ptr<ReceivedFrame>>(m, "ReceivedFrame", py::buffer_protocol())
        .def_buffer([](ReceivedFrame& f) {
            const auto b = f.bytes();
            return py::buffer_info(const_cast<std::byte*>(b.data()), 1, "B",
                                   static_cast<py::ssize_t>(b.size()), true);
        })
        .def("user_id", &ReceivedFrame::user_id);
    py::class_<FramePump>(m, "FramePump")
        .def(py::init<py::object, std::uintptr_t, std::uint64_t, int, int, int>(), py::arg("core"),
             py::arg("socket"), py::arg("engine_session"), py::arg("major"), py::arg("minor"),
             py::arg("patch"))
        .def("add_peer", [](FramePump& p, const py::bytes& id, std::uint32_t slot) { p.add_peer(id, slot); })
        .def("remove_peer", [](FramePump& p, const py::bytes& id) { p.remove_peer(id); })
        .def("set_peer", &FramePump::set_peer, py::arg("slot"), py::arg("peer_session"),
             py::arg("last_sequence"))
        .def("set_direct", &FramePump::set_direct, py::arg("slot"), py::arg("direct"))
        .def("set_absorb", &FramePump::set_absorb, py::arg("frames"))
        .def("pump", &FramePump::pump, py::arg("timeout_ms"), py::arg("spin_us") = 0);
}

#else  // built without zmq.h: the engine reads frames in Python

void bind_frame_pump(py::module_& m) {
    m.attr("FramePump") = py::none();
}

#endif
