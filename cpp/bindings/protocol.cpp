// Python glue for the C++ wire codec: record classes, FrameWriter, decode_frame and the
// layout table the tests compare with the Python codec's numpy dtypes.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <map>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "errors.hpp"
#include "named_tuples.hpp"
#include "strict_arrays.hpp"
#include "tickbridge/protocol.hpp"

namespace py = pybind11;
using namespace tickbridge::protocol;

namespace {

// name -> (size, [(field, offset, size)]), filled as the classes are bound.
using Layout = std::tuple<std::size_t, std::vector<std::tuple<std::string, std::size_t, std::size_t>>>;
std::map<std::string, Layout>& layouts() {
    static std::map<std::string, Layout> table;
    return table;
}

template <class T>
class RecordClass : public py::class_<T> {
public:
    explicit RecordClass(py::module_& m, const char* name) : py::class_<T>(m, name), name_(name) {
        this->def(py::init([] {
            T r{};
            r.header.type = static_cast<std::uint16_t>(T::kType);
            r.header.length = sizeof(T);
            return r;
        }));
        this->def_property_readonly_static("TYPE", [](py::object) { return static_cast<int>(T::kType); });
        this->def_property_readonly("type", [](const T& r) { return r.header.type; });
        this->def_property_readonly("length", [](const T& r) { return r.header.length; });
        this->def_property(
            "instrument_id", [](const T& r) { return r.header.instrument_id; },
            [](T& r, std::uint32_t v) { r.header.instrument_id = v; });
        auto& fields = std::get<1>(layouts()[name_] = Layout{sizeof(T), {}});
        fields.emplace_back("type", 0, 2);
        fields.emplace_back("length", 2, 2);
        fields.emplace_back("instrument_id", 4, 4);
    }

    template <class M>
    RecordClass& field(const char* name, M T::*member) {
        static const T probe{};
        const auto offset = static_cast<std::size_t>(reinterpret_cast<const char*>(&(probe.*member)) -
                                                     reinterpret_cast<const char*>(&probe));
        std::get<1>(layouts()[name_]).emplace_back(name, offset, sizeof(M));
        if constexpr (std::is_array_v<M>) {
            this->def_property(
                name, [member](const T& r) { return py::bytes(std::string(get_text(r.*member))); },
                [member, name](T& r, const py::bytes& value) {
                    std::string text = value;
                    if (!set_text(r.*member, text))
                        throw py::value_error(std::string(name) + ": " + std::to_string(text.size()) +
                                              " bytes do not fit in " + std::to_string(sizeof(M)));
                });
        } else {
            this->def_readwrite(name, member);
        }
        return *this;
    }

private:
    std::string name_;
};

template <class T>
void add_record(FrameWriter& w, const T& r) {
    w.add(r);
}

py::object record_object(const RecordView& view) {
    switch (view.type) {
#define TB_CASE(T) \
    case RecordType::T: return py::cast(view.as<T>());
        TB_CASE(Heartbeat)
        TB_CASE(Hello)
        TB_CASE(InstrumentDefinition)
        TB_CASE(Trade)
        TB_CASE(Quote)
        TB_CASE(Depth)
        TB_CASE(OrderUpdate)
        TB_CASE(Fill)
        TB_CASE(Position)
        TB_CASE(Account)
        TB_CASE(CommandAck)
        TB_CASE(CommandReject)
        TB_CASE(SnapshotBoundary)
        TB_CASE(PlatformStatus)
        TB_CASE(Submit)
        TB_CASE(Cancel)
        TB_CASE(Replace)
        TB_CASE(CancelAll)
        TB_CASE(Flatten)
        TB_CASE(SnapshotRequest)
        TB_CASE(Kill)
        TB_CASE(TradingState)
#undef TB_CASE
    }
    return py::none();  // unreachable: validate_frame refuses unknown types
}

// A C-contiguous buffer's bytes; a strided view is refused (never read as contiguous).
std::span<const std::byte> as_span(const py::buffer_info& info) {
    return tickbridge::strict::bytes(info, "frame");
}

}  // namespace

void bind_protocol(py::module_& root) {
    auto m = root.def_submodule("protocol", "C++ wire codec (protocol v1), the source of truth");
    m.attr("MAGIC") = kMagic;
    m.attr("VERSION") = kVersion;
    m.attr("MAX_FRAME_BYTES") = kMaxFrameBytes;

    py::class_<FrameHeader>(m, "FrameHeader")
        .def_readonly("magic", &FrameHeader::magic)
        .def_readonly("version", &FrameHeader::version)
        .def_readonly("header_size", &FrameHeader::header_size)
        .def_readonly("session_id", &FrameHeader::session_id)
        .def_readonly("sequence", &FrameHeader::sequence)
        .def_readonly("send_time_ns", &FrameHeader::send_time_ns)
        .def_readonly("record_count", &FrameHeader::record_count)
        .def_readonly("flags", &FrameHeader::flags);

    RecordClass<Heartbeat>(m, "Heartbeat").field("ack_sequence", &Heartbeat::ack_sequence).field("time_ns", &Heartbeat::time_ns);
    RecordClass<Hello>(m, "Hello")
        .field("platform", &Hello::platform).field("simulated", &Hello::simulated)
        .field("heartbeat_interval_ms", &Hello::heartbeat_interval_ms)
        .field("platform_version", &Hello::platform_version).field("account", &Hello::account);
    RecordClass<InstrumentDefinition>(m, "InstrumentDefinition")
        .field("tick_size", &InstrumentDefinition::tick_size).field("point_value", &InstrumentDefinition::point_value)
        .field("symbol", &InstrumentDefinition::symbol).field("exchange", &InstrumentDefinition::exchange);
    RecordClass<Trade>(m, "Trade")
        .field("time_ns", &Trade::time_ns).field("price", &Trade::price).field("size", &Trade::size)
        .field("aggressor", &Trade::aggressor).field("flags", &Trade::flags);
    RecordClass<Quote>(m, "Quote")
        .field("time_ns", &Quote::time_ns).field("bid_price", &Quote::bid_price).field("ask_price", &Quote::ask_price)
        .field("bid_size", &Quote::bid_size).field("ask_size", &Quote::ask_size);
    RecordClass<Depth>(m, "Depth")
        .field("time_ns", &Depth::time_ns).field("price", &Depth::price).field("size", &Depth::size)
        .field("level", &Depth::level).field("side", &Depth::side).field("action", &Depth::action);
    RecordClass<OrderUpdate>(m, "OrderUpdate")
        .field("client_order_id", &OrderUpdate::client_order_id).field("time_ns", &OrderUpdate::time_ns)
        .field("price", &OrderUpdate::price).field("stop_price", &OrderUpdate::stop_price)
        .field("quantity", &OrderUpdate::quantity).field("filled_quantity", &OrderUpdate::filled_quantity)
        .field("average_fill_price", &OrderUpdate::average_fill_price).field("status", &OrderUpdate::status)
        .field("side", &OrderUpdate::side).field("order_type", &OrderUpdate::order_type)
        .field("time_in_force", &OrderUpdate::time_in_force).field("reason", &OrderUpdate::reason)
        .field("platform_order_id", &OrderUpdate::platform_order_id).field("text", &OrderUpdate::text);
    RecordClass<Fill>(m, "Fill")
        .field("client_order_id", &Fill::client_order_id).field("time_ns", &Fill::time_ns)
        .field("price", &Fill::price).field("quantity", &Fill::quantity).field("side", &Fill::side)
        .field("execution_id", &Fill::execution_id).field("platform_order_id", &Fill::platform_order_id);
    RecordClass<Position>(m, "Position")
        .field("time_ns", &Position::time_ns).field("quantity", &Position::quantity)
        .field("average_price", &Position::average_price).field("open_pnl", &Position::open_pnl);
    RecordClass<Account>(m, "Account")
        .field("time_ns", &Account::time_ns).field("cash_balance", &Account::cash_balance)
        .field("realized_pnl", &Account::realized_pnl).field("unrealized_pnl", &Account::unrealized_pnl)
        .field("net_liquidation", &Account::net_liquidation);
    RecordClass<CommandAck>(m, "CommandAck")
        .field("request_id", &CommandAck::request_id).field("client_order_id", &CommandAck::client_order_id)
        .field("command_type", &CommandAck::command_type);
    RecordClass<CommandReject>(m, "CommandReject")
        .field("request_id", &CommandReject::request_id).field("client_order_id", &CommandReject::client_order_id)
        .field("command_type", &CommandReject::command_type).field("reason", &CommandReject::reason)
        .field("text", &CommandReject::text);
    RecordClass<SnapshotBoundary>(m, "SnapshotBoundary")
        .field("request_id", &SnapshotBoundary::request_id).field("phase", &SnapshotBoundary::phase)
        .field("record_count", &SnapshotBoundary::record_count);
    RecordClass<Submit>(m, "Submit")
        .field("request_id", &Submit::request_id).field("client_order_id", &Submit::client_order_id)
        .field("price", &Submit::price).field("stop_price", &Submit::stop_price).field("quantity", &Submit::quantity)
        .field("side", &Submit::side).field("order_type", &Submit::order_type)
        .field("time_in_force", &Submit::time_in_force);
    RecordClass<Cancel>(m, "Cancel").field("request_id", &Cancel::request_id).field("client_order_id", &Cancel::client_order_id);
    RecordClass<Replace>(m, "Replace")
        .field("request_id", &Replace::request_id).field("client_order_id", &Replace::client_order_id)
        .field("price", &Replace::price).field("stop_price", &Replace::stop_price).field("quantity", &Replace::quantity);
    RecordClass<CancelAll>(m, "CancelAll").field("request_id", &CancelAll::request_id);
    RecordClass<Flatten>(m, "Flatten").field("request_id", &Flatten::request_id);
    RecordClass<SnapshotRequest>(m, "SnapshotRequest")
        .field("request_id", &SnapshotRequest::request_id).field("what", &SnapshotRequest::what)
        .field("fills_since_ns", &SnapshotRequest::fills_since_ns);
    RecordClass<Kill>(m, "Kill")
        .field("request_id", &Kill::request_id).field("flatten", &Kill::flatten).field("secret", &Kill::secret);
    RecordClass<PlatformStatus>(m, "PlatformStatus")
        .field("time_ns", &PlatformStatus::time_ns).field("orders", &PlatformStatus::orders)
        .field("prices", &PlatformStatus::prices).field("text", &PlatformStatus::text);
    RecordClass<TradingState>(m, "TradingState")
        .field("time_ns", &TradingState::time_ns).field("state", &TradingState::state)
        .field("reason", &TradingState::reason);

    py::class_<FrameWriter>(m, "FrameWriter")
        .def(py::init<std::uint64_t>(), py::arg("session_id") = 0)
        .def("begin", &FrameWriter::begin, py::arg("sequence"), py::arg("send_time_ns"))
        .def("add", &add_record<Heartbeat>).def("add", &add_record<Hello>)
        .def("add", &add_record<InstrumentDefinition>).def("add", &add_record<Trade>)
        .def("add", &add_record<Quote>).def("add", &add_record<Depth>)
        .def("add", &add_record<OrderUpdate>).def("add", &add_record<Fill>)
        .def("add", &add_record<Position>).def("add", &add_record<Account>)
        .def("add", &add_record<CommandAck>).def("add", &add_record<CommandReject>)
        .def("add", &add_record<SnapshotBoundary>).def("add", &add_record<Submit>)
        .def("add", &add_record<Cancel>).def("add", &add_record<Replace>)
        .def("add", &add_record<CancelAll>).def("add", &add_record<Flatten>)
        .def("add", &add_record<SnapshotRequest>).def("add", &add_record<Kill>)
        .def("add", &add_record<PlatformStatus>).def("add", &add_record<TradingState>)
        .def("finish", [](FrameWriter& w) {
            auto frame = w.finish();
            return py::bytes(reinterpret_cast<const char*>(frame.data()), frame.size());
        })
        .def_property_readonly("record_count", &FrameWriter::record_count)
        .def_property_readonly("size", &FrameWriter::size);

    // Both raise tickbridge.protocol.errors.ProtocolError(code, offset, message).
    m.def("validate_frame", [](const py::buffer& buffer) {
        const auto info = buffer.request();
        FrameHeader header{};
        if (auto error = validate_frame(as_span(info), header)) raise_protocol_error(*error);
        return header;
    });
    m.def("decode_frame", [](const py::buffer& buffer) {
        const auto info = buffer.request();
        FrameHeader header{};
        py::list records;
        auto error = for_each_record(as_span(info), header,
                                     [&](const RecordView& view) { records.append(record_object(view)); });
        if (error) raise_protocol_error(*error);
        static PyObject* decoded = tickbridge::named::make_class("DecodedFrame", "header records");
        return tickbridge::named::make(decoded, header, records);
    });
    // The Python codec's fast path: the frame validated whole in C++, answered as the
    // header fields and the runs of same-type records, FrameRuns(session_id, sequence,
    // send_time_ns, record_count, version, flags, runs=[Run(type, offset, count)]), from which
    // Python makes zero-copy numpy views. Errors raise as in validate_frame.
    m.def("frame_runs", [](const py::buffer& buffer) {
        const auto info = buffer.request();
        FrameHeader header{};
        std::vector<std::tuple<int, std::size_t, std::uint32_t>> runs;
        auto error = for_each_record(as_span(info), header, [&](const RecordView& view) {
            const int type = static_cast<int>(view.type);
            if (!runs.empty() && std::get<0>(runs.back()) == type)
                ++std::get<2>(runs.back());
            else
                runs.emplace_back(type, view.offset, 1u);
        });
        if (error) raise_protocol_error(*error);
        static PyObject* cls = tickbridge::named::make_class(
            "FrameRuns", "session_id sequence send_time_ns record_count version flags runs");
        static PyObject* run = tickbridge::named::make_class("Run", "type offset count");
        py::list named_runs(runs.size());
        for (std::size_t i = 0; i < runs.size(); ++i)
            named_runs[i] = tickbridge::named::make(run, std::get<0>(runs[i]), std::get<1>(runs[i]),
                                                    std::get<2>(runs[i]));
        return tickbridge::named::make(cls, header.session_id, header.sequence, header.send_time_ns,
                                       header.record_count, header.version, header.flags, named_runs);
    });
    m.def("record_length", [](int type) { return record_length(static_cast<RecordType>(type)); });
    m.def("layouts", [] { return layouts(); }, "record name -> (size, [(field, offset, size)])");
}
