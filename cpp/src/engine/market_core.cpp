#include "tickbridge/engine/market_core.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace tickbridge::engine {

using protocol::RecordType;

namespace {
constexpr std::int64_t kDay = 86'400'000'000'000;
constexpr std::int64_t kShift = 2 * 3'600'000'000'000;  // 22:00 UTC -> midnight
}  // namespace

std::int64_t trading_day(std::int64_t time_ns) noexcept {
    const std::int64_t t = time_ns + kShift;
    std::int64_t day = t / kDay;
    if (t % kDay < 0) --day;
    return day;
}

MarketCore::Instrument::Instrument(std::string sym, const SignalConfig& config)
    : symbol(std::move(sym)),
      bars(signals::BarBuilder::time(config.bar_interval_ns)),
      ema_fast(signals::Ema::from_period(config.ema_fast_period)),
      ema_slow(signals::Ema::from_period(config.ema_slow_period)),
      vwap(config.vwap_band_mult) {}

MarketCore::MarketCore(SignalConfig config) : config_(config) {
    if (config_.bar_interval_ns <= 0) throw std::invalid_argument("bar_interval_ns must be > 0");
}

std::uint32_t MarketCore::add_session() {
    session_maps_.emplace_back();
    session_enabled_.push_back(true);
    tx_sequence_.push_back(0);
    return static_cast<std::uint32_t>(session_maps_.size() - 1);
}

std::optional<std::uint32_t> MarketCore::slot_of(const std::string& symbol) const {
    for (std::size_t i = 0; i < instruments_.size(); ++i)
        if (instruments_[i].symbol == symbol) return static_cast<std::uint32_t>(i);
    return std::nullopt;
}

std::uint32_t MarketCore::define_instrument(std::uint32_t session, std::uint32_t instrument_id,
                                            const std::string& symbol) {
    auto& map = session_maps_.at(session);
    if (instrument_id >= 1u << 16)
        throw std::invalid_argument("instrument_id " + std::to_string(instrument_id) +
                                    " is too large (ids are small integers per session)");
    auto slot = slot_of(symbol);
    if (!slot) {
        instruments_.emplace_back(symbol, config_);
        slot = static_cast<std::uint32_t>(instruments_.size() - 1);
    }
    if (map.size() <= instrument_id) map.resize(instrument_id + 1, -1);
    map[instrument_id] = static_cast<std::int32_t>(*slot);
    return *slot;
}

std::uint32_t MarketCore::add_trigger(std::uint32_t slot, double level, bool above) {
    if (!std::isfinite(level)) throw std::invalid_argument("trigger level must be finite");
    instruments_.at(slot).triggers.push_back(Trigger{next_trigger_, level, above});
    return next_trigger_++;
}

void MarketCore::clear_triggers(std::uint32_t slot) {
    for (const Trigger& t : instruments_.at(slot).triggers) armed_.erase(t.id);
    instruments_[slot].triggers.clear();
}

void MarketCore::on_trade(std::uint32_t slot, const protocol::Trade& trade, IngestResult& out) {
    Instrument& in = instruments_[slot];
    MarketState& m = in.market;
    if (!std::isfinite(trade.price)) {
        ++out.bad_values;
        return;
    }
    if (m.trades > 0 && trade.time_ns < m.last_time_ns) {
        ++out.out_of_order;  // bars need time order; the tick is counted, not applied
        return;
    }
    const auto aggressor = trade.aggressor <= 2 ? trade.aggressor : std::uint8_t{0};
    const double size = static_cast<double>(trade.size);
    if (trade.time_ns >= in.day_end_ns || trade.time_ns < in.day_start_ns) {
        in.day = trading_day(trade.time_ns);
        in.day_start_ns = in.day * kDay - kShift;
        in.day_end_ns = in.day_start_ns + kDay;
    }
    const std::int64_t day = in.day;
    // Time bars close on the first tick of a later interval: emit before that tick moves
    // the signals, so a bar carries the values of its own last tick.
    in.bars.update(trade.time_ns, trade.price, size, aggressor, day, [&](const signals::Bar& bar) {
        out.events.push_back(SignalEvent{EventKind::BarClosed, slot, 0, bar, m.ema_fast,
                                         m.ema_slow, in.vwap.value().vwap, m.delta});
    });
    m.last_time_ns = trade.time_ns;
    m.last_price = trade.price;
    m.last_size = trade.size;
    ++m.trades;
    m.volume += size;
    m.ema_fast = in.ema_fast.update(trade.price);
    m.ema_slow = in.ema_slow.update(trade.price);
    in.vwap.add(trade.price, size, day);
    m.delta = in.delta.update(size, aggressor, day);
    if (!in.triggers.empty()) {
        for (std::size_t i = 0; i < in.triggers.size();) {
            const Trigger& t = in.triggers[i];
            if (t.above ? trade.price >= t.level : trade.price <= t.level) {
                signals::Bar at{trade.time_ns, trade.price, trade.price, trade.price, trade.price,
                                size, 1, 0.0, 0.0};
                const std::uint32_t id = t.id;
                in.triggers.erase(in.triggers.begin() + static_cast<std::ptrdiff_t>(i));
                if (armed_.contains(id)) {
                    fire(id, in, trade, out);  // its news goes out as a FiredOrder
                } else {
                    out.events.push_back(SignalEvent{EventKind::TriggerFired, slot, id, at,
                                                     m.ema_fast, m.ema_slow,
                                                     in.vwap.value().vwap, m.delta});
                }
            } else {
                ++i;
            }
        }
    }
}

MarketState MarketCore::state(std::uint32_t slot) const {
    const Instrument& in = instruments_.at(slot);
    MarketState m = in.market;
    const auto v = in.vwap.value();
    m.vwap = v.vwap;
    m.vwap_upper = v.upper;
    m.vwap_lower = v.lower;
    return m;
}

void MarketCore::on_quote(std::uint32_t slot, const protocol::Quote& quote) {
    MarketState& m = instruments_[slot].market;
    m.quote_time_ns = quote.time_ns;
    m.bid = quote.bid_price;
    m.ask = quote.ask_price;
    m.bid_size = quote.bid_size;
    m.ask_size = quote.ask_size;
    ++m.quotes;
}

std::optional<protocol::DecodeError> MarketCore::ingest(std::uint32_t session,
                                                        std::span<const std::byte> frame,
                                                        IngestResult& out) {
    if (session >= session_maps_.size()) throw std::out_of_range("unknown engine session slot");
    out.others.clear();
    out.events.clear();
    out.fired.clear();
    out.submits.clear();
    out.trades = out.quotes = out.depth = 0;
    out.unknown_instrument = out.out_of_order = out.bad_values = 0;
    // A frame is mostly runs of one instrument: the last lookup is kept.
    const auto& map = session_maps_[session];
    std::uint32_t last_id = 0xFFFF'FFFF;
    std::int32_t last_slot = -1;
    const auto resolve = [&](std::uint32_t instrument_id) {
        if (instrument_id != last_id) {
            last_id = instrument_id;
            last_slot = instrument_id < map.size() ? map[instrument_id] : -1;
        }
        return last_slot;
    };
    return protocol::for_each_record(frame, out.header, [&](const protocol::RecordView& view) {
        switch (view.type) {
            case RecordType::Trade: {
                ++out.trades;
                if (const auto slot = resolve(view.instrument_id); slot >= 0)
                    on_trade(static_cast<std::uint32_t>(slot), view.as<protocol::Trade>(), out);
                else
                    ++out.unknown_instrument;
                break;
            }
            case RecordType::Quote: {
                ++out.quotes;
                if (const auto slot = resolve(view.instrument_id); slot >= 0)
                    on_quote(static_cast<std::uint32_t>(slot), view.as<protocol::Quote>());
                else
                    ++out.unknown_instrument;
                break;
            }
            case RecordType::Depth:
                ++out.depth;  // depth is forwarded by the shims; the engine keeps no book yet
                break;
            default:
                out.others.push_back(OtherRecord{view.type, static_cast<std::uint32_t>(view.offset)});
        }
    });
}

}  // namespace tickbridge::engine
