// Unit checks of the shim library (cpp/shim, linked directly, not through the generated
// header): the SPSC ring under two threads, client order id tags, the constant-time secret
// comparison, the platform-side backlog that keeps order events when the queue is full,
// and the engine frames of a replaced engine session, dropped.
// Prints "PASS <name>" per check; exits 1 on the first failure.
#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "tickbridge/shim/shim.hpp"

namespace shim = tickbridge::shim;
namespace protocol = tickbridge::protocol;

#define CHECK(condition)                                                          \
    do {                                                                          \
        if (!(condition)) {                                                       \
            std::printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #condition);      \
            std::exit(1);                                                         \
        }                                                                         \
    } while (0)

static void spsc_under_two_threads(std::uint64_t items) {
    struct Item {
        std::uint64_t value;
        std::uint64_t check;
    };
    shim::SpscQueue<Item> queue(1024);
    std::thread consumer([&] {
        Item item{};
        for (std::uint64_t expected = 0; expected < items;) {
            if (!queue.try_pop(item)) continue;
            CHECK(item.value == expected && item.check == ~expected);
            ++expected;
        }
        CHECK(!queue.try_pop(item));
    });
    for (std::uint64_t i = 0; i < items;) {
        if (i % 2 == 0 ? queue.try_push({i, ~i})
                       : queue.try_push_with([i](Item& slot) { slot = {i, ~i}; }))
            ++i;
    }
    consumer.join();
    std::printf("PASS spsc_under_two_threads %llu items\n", static_cast<unsigned long long>(items));
}

static void client_order_id_tags() {
    CHECK(shim::client_order_id_to_tag(0x0123456789ABCDEFull) == "TB0123456789ABCDEF");
    CHECK(shim::client_order_id_from_tag("TB0123456789ABCDEF") == 0x0123456789ABCDEFull);
    CHECK(shim::client_order_id_from_tag(shim::client_order_id_to_tag(~0ull)) == ~0ull);
    CHECK(shim::client_order_id_from_tag("TB0123456789abcdef") == 0);  // uppercase only
    CHECK(shim::client_order_id_from_tag("TB0123") == 0);
    CHECK(shim::client_order_id_from_tag("XB0123456789ABCDEF") == 0);
    CHECK(shim::client_order_id_from_tag("manual") == 0);
    std::printf("PASS client_order_id_tags\n");
}

static void secrets() {
    char field[32] = {};
    protocol::set_text(field, "s3cret");
    CHECK(shim::Shim::secret_matches(field, "s3cret"));
    CHECK(!shim::Shim::secret_matches(field, "s3cre"));
    CHECK(!shim::Shim::secret_matches(field, "s3cret!"));
    CHECK(!shim::Shim::secret_matches(field, ""));  // no secret configured: refuse all
    char full[32];
    for (char& c : full) c = 'k';
    CHECK(shim::Shim::secret_matches(full, std::string(32, 'k')));
    CHECK(!shim::Shim::secret_matches(full, std::string(31, 'k')));
    std::printf("PASS secrets\n");
}

static void order_events_wait_in_the_backlog_market_data_is_dropped() {
    shim::ShimConfig config;
    config.engine_endpoint = "tcp://127.0.0.1:1";  // nothing listens there
    config.record_queue_capacity = 4;
    shim::Shim link(config);
    for (int i = 0; i < 100; ++i) {
        protocol::OrderUpdate update{};
        update.client_order_id = static_cast<std::uint64_t>(i);
        CHECK(link.post(update));
    }
    CHECK(link.backlog_size() == 96);
    CHECK(!link.post(protocol::Trade{}));  // behind order events: dropped, counted
    CHECK(link.stats().market_data_dropped == 1);
    link.start();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (link.stats().records_sent < 100 && std::chrono::steady_clock::now() < deadline) {
        link.flush();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    CHECK(link.backlog_size() == 0);
    CHECK(link.stats().records_sent == 100);
    CHECK(link.stats().outbox_frames >= 1);  // kept: nobody acknowledged them
    link.stop();
    CHECK(shim::Shim::live_threads() == 0);
    std::printf("PASS order_events_wait_in_the_backlog_market_data_is_dropped\n");
}

// After an engine restart, a frame of the dead engine's session can still be read late
// (ZeroMQ queues): its commands must not run after the new engine compared the platform's
// orders (docs/copier.md, "Limits"). Dropped whole: not executed, not acknowledged, counted.
static void frames_of_a_replaced_engine_session_are_dropped() {
    void* context = zmq_ctx_new();
    void* router = zmq_socket(context, ZMQ_ROUTER);  // the engine's side of the link
    int linger = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    CHECK(zmq_bind(router, "tcp://127.0.0.1:*") == 0);
    char endpoint[256] = {};
    std::size_t endpoint_size = sizeof endpoint;
    CHECK(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size) == 0);

    shim::ShimConfig config;
    config.engine_endpoint = endpoint;
    shim::Shim link(config);
    CHECK(link.post(protocol::Hello{}));
    link.start();

    std::vector<std::byte> identity;  // the shim's routing id
    int hellos = 0, markers = 0;
    std::vector<std::byte> frame(protocol::kMaxFrameBytes);
    const auto read_shim = [&] {  // what the shim sent: its routing id, Hellos counted
        zmq_pollitem_t item{router, 0, ZMQ_POLLIN, 0};
        while (zmq_poll(&item, 1, 1) > 0) {
            std::byte id[256];
            const int id_size = zmq_recv(router, id, sizeof id, 0);
            CHECK(id_size > 0);
            identity.assign(id, id + id_size);
            const int size = zmq_recv(router, frame.data(), frame.size(), 0);
            CHECK(size > 0);
            protocol::FrameHeader header{};
            CHECK(!protocol::for_each_record(
                protocol::ByteSpan{frame.data(), static_cast<std::size_t>(size)}, header,
                [&](const protocol::RecordView& view) {
                    if (view.type == protocol::RecordType::Hello) ++hellos;
                    if (view.type == protocol::RecordType::Trade) ++markers;
                }));
        }
    };
    const auto send_as = [&](std::uint64_t session, std::uint64_t sequence,
                             std::uint64_t request_id) {
        protocol::FrameWriter writer(session);
        writer.begin(sequence, 1);
        protocol::CancelAll cancel_all{};
        cancel_all.request_id = request_id;
        writer.add(cancel_all);
        const protocol::ByteSpan bytes = writer.finish();
        CHECK(zmq_send(router, identity.data(), identity.size(), ZMQ_SNDMORE) >= 0);
        CHECK(zmq_send(router, bytes.data(), bytes.size(), 0) >= 0);
    };
    std::vector<std::uint64_t> executed;  // request ids of the CancelAlls handed to the platform
    const auto wait_until = [&](auto&& condition) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!condition()) {
            CHECK(std::chrono::steady_clock::now() < deadline);
            read_shim();
            shim::CommandSlot command;
            while (link.next_command(command))
                if (command.type() == protocol::RecordType::CancelAll)
                    executed.push_back(command.as<protocol::CancelAll>().request_id);
        }
    };
    const auto ran = [&](std::uint64_t request_id) {
        return [&executed, request_id] {
            return std::find(executed.begin(), executed.end(), request_id) != executed.end();
        };
    };
    // Every frame the shim sent before now has been read: a Trade posted now leaves after
    // them (one socket thread, one connection, in order).
    const auto read_all_sent = [&] {
        const int seen = markers;
        CHECK(link.post(protocol::Trade{}));
        wait_until([&] { return markers > seen; });
    };
    const std::uint64_t session_a = 0xA1A1, session_b = 0xB2B2;

    wait_until([&] { return hellos >= 1; });
    send_as(session_a, 1, 1);
    wait_until(ran(1));
    read_all_sent();
    const int hellos_to_a = hellos;
    send_as(session_b, 1, 2);  // the engine restarted: the shim says Hello to it again
    wait_until(ran(2));
    read_all_sent();
    CHECK(hellos > hellos_to_a);
    const int hellos_to_b = hellos;
    send_as(session_a, 2, 3);  // read late from the dead engine's connection
    send_as(session_b, 2, 4);
    wait_until(ran(4));
    read_all_sent();
    CHECK((executed == std::vector<std::uint64_t>{1, 2, 4}));
    CHECK(link.stats().retired_session_frames == 1);
    CHECK(hellos == hellos_to_b);  // the dead session did not count as a new one
    link.stop();
    zmq_close(router);
    zmq_ctx_term(context);
    CHECK(shim::Shim::live_threads() == 0);
    std::printf("PASS frames_of_a_replaced_engine_session_are_dropped\n");
}

int main(int argc, char** argv) {
    const std::uint64_t items = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
    spsc_under_two_threads(items);
    client_order_id_tags();
    secrets();
    order_events_wait_in_the_backlog_market_data_is_dropped();
    frames_of_a_replaced_engine_session_are_dropped();
    return 0;
}
