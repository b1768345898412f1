// Unit checks of the shim library (cpp/shim, linked directly, not through the generated
// header): the SPSC ring under two threads, client order id tags, the constant-time secret
// comparison, and the platform-side backlog that keeps order events when the queue is full.
// Prints "PASS <name>" per check; exits 1 on the first failure.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

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

int main(int argc, char** argv) {
    const std::uint64_t items = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 2000000;
    spsc_under_two_threads(items);
    client_order_id_tags();
    secrets();
    order_events_wait_in_the_backlog_market_data_is_dropped();
    return 0;
}
