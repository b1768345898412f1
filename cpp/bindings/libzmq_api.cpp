// Only with zmq.h at build time (frame_pump.cpp says the same).
#if __has_include(<zmq.h>)
#include "libzmq_api.hpp"

#include <stdexcept>
#include <vector>

#if defined(__linux__)
#include <dlfcn.h>
#include <link.h>
#endif

namespace {

#if defined(__linux__)
int collect(dl_phdr_info* info, std::size_t, void* data) {
    const std::string name = info->dlpi_name ? info->dlpi_name : "";
    if (name.find("libzmq") != std::string::npos)
        static_cast<std::vector<std::string>*>(data)->push_back(name);
    return 0;
}

template <typename F>
void resolve(void* lib, const char* name, F& into) {
    into = reinterpret_cast<F>(dlsym(lib, name));
    if (into == nullptr) throw std::runtime_error(std::string("libzmq lacks ") + name);
}

LibzmqApi find(int major, int minor, int patch) {
    std::vector<std::string> names;
    dl_iterate_phdr(collect, &names);
    std::string seen;
    for (const auto& name : names) {
        // RTLD_NOLOAD: only a library already in the process (pyzmq's), never a new one.
        void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_NOLOAD);
        if (lib == nullptr) continue;
        auto version = reinterpret_cast<decltype(&::zmq_version)>(dlsym(lib, "zmq_version"));
        if (version == nullptr) continue;
        int v[3] = {0, 0, 0};
        version(&v[0], &v[1], &v[2]);
        seen += " " + name + " (" + std::to_string(v[0]) + "." + std::to_string(v[1]) + "." +
                std::to_string(v[2]) + ")";
        if (v[0] != major || v[1] != minor || v[2] != patch) continue;
        LibzmqApi api;
        resolve(lib, "zmq_msg_init", api.msg_init);
        resolve(lib, "zmq_msg_recv", api.msg_recv);
        resolve(lib, "zmq_msg_data", api.msg_data);
        resolve(lib, "zmq_msg_size", api.msg_size);
        resolve(lib, "zmq_msg_more", api.msg_more);
        resolve(lib, "zmq_msg_close", api.msg_close);
        resolve(lib, "zmq_msg_gets", api.msg_gets);
        resolve(lib, "zmq_send", api.send);
        resolve(lib, "zmq_getsockopt", api.getsockopt);
        resolve(lib, "zmq_setsockopt", api.setsockopt);
        resolve(lib, "zmq_strerror", api.strerror);
        return api;  // the handle stays open: the library is pyzmq's, loaded for good
    }
    throw std::runtime_error("no loaded libzmq " + std::to_string(major) + "." +
                             std::to_string(minor) + "." + std::to_string(patch) +
                             " (pyzmq's) found; loaded:" + (seen.empty() ? " none" : seen));
}
#else
LibzmqApi find(int, int, int) {
    throw std::runtime_error("finding pyzmq's libzmq is implemented for Linux only");
}
#endif

}  // namespace

const LibzmqApi& loaded_libzmq(int major, int minor, int patch) {
    static const LibzmqApi api = find(major, minor, patch);
    return api;
}

#endif
