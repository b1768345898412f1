// The libzmq that pyzmq loaded, found at run time, so the compiled receive path works on
// pyzmq's own sockets (Socket.underlying) without linking a second libzmq: two copies in
// one process would not share a context. Linux (dl_iterate_phdr); elsewhere, not found.
#pragma once

#include <zmq.h>

#include <string>

struct LibzmqApi {
    decltype(&::zmq_msg_init) msg_init = nullptr;
    decltype(&::zmq_msg_recv) msg_recv = nullptr;
    decltype(&::zmq_msg_data) msg_data = nullptr;
    decltype(&::zmq_msg_size) msg_size = nullptr;
    decltype(&::zmq_msg_more) msg_more = nullptr;
    decltype(&::zmq_msg_close) msg_close = nullptr;
    decltype(&::zmq_msg_gets) msg_gets = nullptr;  // a message's metadata (User-Id)
    decltype(&::zmq_send) send = nullptr;
    decltype(&::zmq_getsockopt) getsockopt = nullptr;
    decltype(&::zmq_setsockopt) setsockopt = nullptr;
    decltype(&::zmq_strerror) strerror = nullptr;
};

// The loaded libzmq whose zmq_version is major.minor.patch (pyzmq's), or throws
// std::runtime_error saying what was looked at.
const LibzmqApi& loaded_libzmq(int major, int minor, int patch);
