// Python glue for the signal kernels (cpp/include/tickbridge/signals). No logic here:
// argument checks (dtype, shape, length), GIL release, and conversions only.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "tickbridge/signals/batch.hpp"

namespace py = pybind11;
namespace sig = tickbridge::signals;

namespace {

// A 1-D input array of exactly dtype T: zero-copy when C-contiguous, one contiguous
// copy otherwise. A wrong dtype or shape is a ValueError naming the argument.
template <class T>
struct Input {
    py::array_t<T, py::array::c_style> array;
    std::span<const T> view;
};

template <class T>
Input<T> input(const py::handle& obj, const char* name) {
    const py::dtype want = py::dtype::of<T>();
    if (!py::isinstance<py::array>(obj)) {
        throw py::value_error(std::string(name) + " must be a 1-D numpy array of " +
                              std::string(py::str(want)) + ", got " +
                              std::string(py::str(py::type::handle_of(obj).attr("__name__"))));
    }
    auto arr = py::reinterpret_borrow<py::array>(obj);
    if (!arr.dtype().equal(want)) {
        throw py::value_error(std::string(name) + " must have dtype " +
                              std::string(py::str(want)) + ", got " +
                              std::string(py::str(arr.dtype())) + "; convert with .astype(np." +
                              std::string(py::str(want)) + ") if that is intended");
    }
    if (arr.ndim() != 1) {
        throw py::value_error(std::string(name) + " must be 1-D, got shape with " +
                              std::to_string(arr.ndim()) + " dimensions");
    }
    auto contiguous = py::array_t<T, py::array::c_style>::ensure(arr);
    if (!contiguous) throw py::error_already_set();
    const auto n = static_cast<std::size_t>(contiguous.size());
    std::span<const T> view(contiguous.data(), n);
    return Input<T>{std::move(contiguous), view};
}

void same_length(std::size_t n, std::size_t m, const char* first, const char* other) {
    if (n != m) {
        throw py::value_error(std::string(other) + " has length " + std::to_string(m) + " but " +
                              first + " has length " + std::to_string(n));
    }
}

std::span<const std::int64_t> optional_session(const std::optional<Input<std::int64_t>>& s) {
    return s ? s->view : std::span<const std::int64_t>{};
}

template <class T>
std::pair<py::array_t<T>, std::span<T>> output(std::size_t n) {
    py::array_t<T> out(static_cast<py::ssize_t>(n));
    return {out, std::span<T>(out.mutable_data(), n)};
}

std::optional<Input<std::int64_t>> session_arg(const py::object& session, std::size_t n) {
    if (session.is_none()) return std::nullopt;
    auto s = input<std::int64_t>(session, "session");
    same_length(n, s.view.size(), "price", "session");
    return s;
}

py::array_t<sig::Bar> build_bars(const sig::BarBuilder& builder, const py::object& ts,
                                 const py::object& price, const py::object& volume,
                                 const py::object& side, const py::object& session) {
    auto t = input<std::int64_t>(ts, "ts");
    auto p = input<double>(price, "price");
    auto v = input<double>(volume, "volume");
    auto s = input<std::uint8_t>(side, "side");
    const std::size_t n = t.view.size();
    same_length(n, p.view.size(), "ts", "price");
    same_length(n, v.view.size(), "ts", "volume");
    same_length(n, s.view.size(), "ts", "side");
    auto sess = session_arg(session, n);
    std::vector<sig::Bar> bars;
    {
        py::gil_scoped_release release;
        bars = sig::build_bars(builder, t.view, p.view, v.view, s.view, optional_session(sess));
    }
    py::array_t<sig::Bar> out(static_cast<py::ssize_t>(bars.size()));
    if (!bars.empty()) std::memcpy(out.mutable_data(), bars.data(), bars.size() * sizeof(sig::Bar));
    return out;
}

py::array_t<double> ema(double alpha, const py::object& price) {
    auto p = input<double>(price, "price");
    auto [out, view] = output<double>(p.view.size());
    py::gil_scoped_release release;
    sig::ema_batch(alpha, p.view, view);
    return out;
}

py::array_t<double> sma(std::int64_t period, const py::object& price) {
    auto p = input<double>(price, "price");
    auto [out, view] = output<double>(p.view.size());
    py::gil_scoped_release release;
    sig::sma_batch(period, p.view, view);
    return out;
}

py::dict vwap(double band_mult, const py::object& price, const py::object& volume,
              const py::object& session) {
    auto p = input<double>(price, "price");
    auto v = input<double>(volume, "volume");
    const std::size_t n = p.view.size();
    same_length(n, v.view.size(), "price", "volume");
    auto sess = session_arg(session, n);
    auto [vw, vw_view] = output<double>(n);
    auto [sd, sd_view] = output<double>(n);
    auto [up, up_view] = output<double>(n);
    auto [lo, lo_view] = output<double>(n);
    {
        py::gil_scoped_release release;
        sig::vwap_batch(band_mult, p.view, v.view, optional_session(sess), vw_view, sd_view,
                        up_view, lo_view);
    }
    py::dict result;
    result["vwap"] = vw;
    result["stddev"] = sd;
    result["upper"] = up;
    result["lower"] = lo;
    return result;
}

py::array_t<double> atr(std::int64_t period, const py::object& high, const py::object& low,
                        const py::object& close) {
    auto h = input<double>(high, "high");
    auto l = input<double>(low, "low");
    auto c = input<double>(close, "close");
    const std::size_t n = h.view.size();
    same_length(n, l.view.size(), "high", "low");
    same_length(n, c.view.size(), "high", "close");
    auto [out, view] = output<double>(n);
    py::gil_scoped_release release;
    sig::atr_batch(period, h.view, l.view, c.view, view);
    return out;
}

py::array_t<double> realized_vol(std::int64_t period, const py::object& price) {
    auto p = input<double>(price, "price");
    auto [out, view] = output<double>(p.view.size());
    py::gil_scoped_release release;
    sig::realized_vol_batch(period, p.view, view);
    return out;
}

py::array_t<double> cumulative_delta(const py::object& volume, const py::object& side,
                                     const py::object& session) {
    auto v = input<double>(volume, "volume");
    auto s = input<std::uint8_t>(side, "side");
    const std::size_t n = v.view.size();
    same_length(n, s.view.size(), "volume", "side");
    auto sess = session_arg(session, n);
    auto [out, view] = output<double>(n);
    py::gil_scoped_release release;
    sig::cumulative_delta_batch(v.view, s.view, optional_session(sess), view);
    return out;
}

py::array_t<double> book_imbalance(const py::object& bid_size, const py::object& ask_size) {
    auto b = input<double>(bid_size, "bid_size");
    auto a = input<double>(ask_size, "ask_size");
    same_length(b.view.size(), a.view.size(), "bid_size", "ask_size");
    auto [out, view] = output<double>(b.view.size());
    py::gil_scoped_release release;
    sig::book_imbalance_batch(b.view, a.view, view);
    return out;
}

py::array_t<std::int8_t> trade_through(const py::object& price, const py::object& bid,
                                       const py::object& ask) {
    auto p = input<double>(price, "price");
    auto b = input<double>(bid, "bid");
    auto a = input<double>(ask, "ask");
    const std::size_t n = p.view.size();
    same_length(n, b.view.size(), "price", "bid");
    same_length(n, a.view.size(), "price", "ask");
    auto [out, view] = output<std::int8_t>(n);
    py::gil_scoped_release release;
    sig::trade_through_batch(p.view, b.view, a.view, view);
    return out;
}

std::string bar_repr(const sig::Bar& b) {
    return "Bar(ts=" + std::to_string(b.ts) + ", open=" + std::to_string(b.open) +
           ", high=" + std::to_string(b.high) + ", low=" + std::to_string(b.low) +
           ", close=" + std::to_string(b.close) + ", volume=" + std::to_string(b.volume) +
           ", trade_count=" + std::to_string(b.trade_count) +
           ", bid_volume=" + std::to_string(b.bid_volume) +
           ", ask_volume=" + std::to_string(b.ask_volume) + ")";
}

}  // namespace

void bind_signals(py::module_& root) {
    PYBIND11_NUMPY_DTYPE(sig::Bar, ts, open, high, low, close, volume, trade_count, bid_volume,
                         ask_volume);
    py::module_ m = root.def_submodule(
        "signals", "Tick kernels: each streaming class and batch function share one update step");

    py::class_<sig::Bar>(m, "Bar")
        .def_readonly("ts", &sig::Bar::ts)
        .def_readonly("open", &sig::Bar::open)
        .def_readonly("high", &sig::Bar::high)
        .def_readonly("low", &sig::Bar::low)
        .def_readonly("close", &sig::Bar::close)
        .def_readonly("volume", &sig::Bar::volume)
        .def_readonly("trade_count", &sig::Bar::trade_count)
        .def_readonly("bid_volume", &sig::Bar::bid_volume)
        .def_readonly("ask_volume", &sig::Bar::ask_volume)
        .def("as_tuple",
             [](const sig::Bar& b) {
                 return py::make_tuple(b.ts, b.open, b.high, b.low, b.close, b.volume,
                                       b.trade_count, b.bid_volume, b.ask_volume);
             })
        .def("__repr__", &bar_repr);
    m.attr("BAR_DTYPE") = py::dtype::of<sig::Bar>();

    py::class_<sig::BarBuilder>(m, "BarBuilder")
        .def_static("time", &sig::BarBuilder::time, py::arg("interval_ns"))
        .def_static("ticks", &sig::BarBuilder::ticks, py::arg("trades_per_bar"))
        .def_static("volume", &sig::BarBuilder::volume, py::arg("volume_per_bar"))
        .def_static("range", &sig::BarBuilder::range, py::arg("price_range"))
        .def_property_readonly(
            "kind", [](const sig::BarBuilder& b) { return static_cast<int>(b.kind()); })
        .def(
            "update",
            [](sig::BarBuilder& b, std::int64_t ts, double price, double volume,
               std::uint8_t side, std::int64_t session) {
                py::list done;
                b.update(ts, price, volume, side, session,
                         [&done](const sig::Bar& bar) { done.append(bar); });
                return done;
            },
            py::arg("ts"), py::arg("price"), py::arg("volume"), py::arg("side"),
            py::arg("session") = 0, "Feed one trade; returns the bars it completed (0 to 2).")
        .def("current", &sig::BarBuilder::current)
        .def("flush", &sig::BarBuilder::flush);

    py::class_<sig::Ema>(m, "Ema")
        .def(py::init<double>(), py::arg("alpha"))
        .def_static("from_period", &sig::Ema::from_period, py::arg("period"))
        .def("update", &sig::Ema::update, py::arg("price"))
        .def_property_readonly("alpha", &sig::Ema::alpha)
        .def_property_readonly("value", &sig::Ema::value);
    py::class_<sig::Sma>(m, "Sma")
        .def(py::init<std::int64_t>(), py::arg("period"))
        .def("update", &sig::Sma::update, py::arg("price"));
    py::class_<sig::SessionVwap>(m, "SessionVwap")
        .def(py::init<double>(), py::arg("band_mult"))
        .def(
            "update",
            [](sig::SessionVwap& k, double price, double volume, std::int64_t session) {
                const sig::VwapValue v = k.update(price, volume, session);
                return py::make_tuple(v.vwap, v.stddev, v.upper, v.lower);
            },
            py::arg("price"), py::arg("volume"), py::arg("session") = 0,
            "Returns (vwap, stddev, upper, lower).");
    py::class_<sig::Atr>(m, "Atr")
        .def(py::init<std::int64_t>(), py::arg("period"))
        .def("update", &sig::Atr::update, py::arg("high"), py::arg("low"), py::arg("close"));
    py::class_<sig::RealizedVol>(m, "RealizedVol")
        .def(py::init<std::int64_t>(), py::arg("period"))
        .def("update", &sig::RealizedVol::update, py::arg("price"));
    py::class_<sig::CumulativeDelta>(m, "CumulativeDelta")
        .def(py::init<>())
        .def("update", &sig::CumulativeDelta::update, py::arg("volume"), py::arg("side"),
             py::arg("session") = 0);
    py::class_<sig::BookImbalance>(m, "BookImbalance")
        .def(py::init<>())
        .def("update", &sig::BookImbalance::update, py::arg("bid_size"), py::arg("ask_size"));
    py::class_<sig::TradeThrough>(m, "TradeThrough")
        .def(py::init<>())
        .def("update", &sig::TradeThrough::update, py::arg("price"), py::arg("bid"),
             py::arg("ask"));

    m.def("build_bars", &build_bars, py::arg("builder"), py::arg("ts"), py::arg("price"),
          py::arg("volume"), py::arg("side"), py::arg("session") = py::none(),
          "Bars of all ticks (the last one possibly incomplete) as a BAR_DTYPE array.");
    m.def("ema", &ema, py::arg("alpha"), py::arg("price"));
    m.def("sma", &sma, py::arg("period"), py::arg("price"));
    m.def("vwap", &vwap, py::arg("band_mult"), py::arg("price"), py::arg("volume"),
          py::arg("session") = py::none());
    m.def("atr", &atr, py::arg("period"), py::arg("high"), py::arg("low"), py::arg("close"));
    m.def("realized_vol", &realized_vol, py::arg("period"), py::arg("price"));
    m.def("cumulative_delta", &cumulative_delta, py::arg("volume"), py::arg("side"),
          py::arg("session") = py::none());
    m.def("book_imbalance", &book_imbalance, py::arg("bid_size"), py::arg("ask_size"));
    m.def("trade_through", &trade_through, py::arg("price"), py::arg("bid"), py::arg("ask"));
}
