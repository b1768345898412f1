#include "tickbridge/engine/market_core.hpp"

#include <algorithm>
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

MarketCore::TickState::TickState(const SignalConfig& config)
    : bars(signals::BarBuilder::time(config.bar_interval_ns)),
      ema_fast(signals::Ema::from_period(config.ema_fast_period)),
      ema_slow(signals::Ema::from_period(config.ema_slow_period)),
      vwap(config.vwap_band_mult) {}

MarketCore::MarketCore(SignalConfig config) : config_(config) {
    if (config_.bar_interval_ns <= 0) throw std::invalid_argument("bar_interval_ns must be > 0");
}

std::uint32_t MarketCore::add_session() {
    if (!free_sessions_.empty()) {
        const auto slot = free_sessions_.back();
        free_sessions_.pop_back();
        session_enabled_[slot] = true;
        tx_sequence_[slot] = 0;  // a new peer: our frames to it start at 1
        return slot;
    }
    session_maps_.emplace_back();
    session_enabled_.push_back(true);
    tx_sequence_.push_back(0);
    return static_cast<std::uint32_t>(session_maps_.size() - 1);
}

void MarketCore::release_session(std::uint32_t session) {
    if (session >= session_maps_.size())
        throw std::out_of_range("unknown engine session slot " + std::to_string(session));
    if (std::find(free_sessions_.begin(), free_sessions_.end(), session) != free_sessions_.end())
        return;  // released already
    std::vector<std::int32_t>().swap(session_maps_[session]);  // its memory, not just its size
    session_enabled_[session] = false;
    free_sessions_.push_back(session);
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

// Inline, so that the run loop below compiles it against its local TickState.
inline bool MarketCore::apply_trade(TickState& tick, std::uint32_t slot,
                                    const protocol::Trade& trade, IngestResult& out) {
    MarketState& m = tick.market;
    if (!std::isfinite(trade.price)) [[unlikely]] {
        ++out.bad_values;
        return false;
    }
    if (m.trades > 0 && trade.time_ns < m.last_time_ns) [[unlikely]] {
        ++out.out_of_order;  // bars need time order; the tick is counted, not applied
        return false;
    }
    const auto aggressor = trade.aggressor <= 2 ? trade.aggressor : std::uint8_t{0};
    const double size = static_cast<double>(trade.size);
    if (trade.time_ns >= tick.day_end_ns || trade.time_ns < tick.day_start_ns) [[unlikely]] {
        tick.day = trading_day(trade.time_ns);
        tick.day_start_ns = tick.day * kDay - kShift;
        tick.day_end_ns = tick.day_start_ns + kDay;
    }
    const std::int64_t day = tick.day;
    // Time bars close on the first tick of a later interval: emit before that tick moves
    // the signals, so a bar carries the values of its own last tick.
    tick.bars.update(trade.time_ns, trade.price, size, aggressor, day,
                     [&](const signals::Bar& bar) {
                         out.events.push_back(SignalEvent{EventKind::BarClosed, slot, 0, bar,
                                                          m.ema_fast, m.ema_slow,
                                                          tick.vwap.value().vwap, m.delta});
                     });
    m.last_time_ns = trade.time_ns;
    m.last_price = trade.price;
    m.last_size = trade.size;
    ++m.trades;
    m.volume += size;
    m.ema_fast = tick.ema_fast.update(trade.price);
    m.ema_slow = tick.ema_slow.update(trade.price);
    tick.vwap.add(trade.price, size, day);
    m.delta = tick.delta.update(size, aggressor, day);
    return true;
}

std::size_t MarketCore::apply_trade_run(std::uint32_t slot, std::uint32_t instrument_id,
                                        std::span<const std::byte> frame, std::size_t offset,
                                        std::uint32_t& index, IngestResult& out) {
    Instrument& in = instruments_[slot];
    TickState tick = in.tick;
    while (index < out.header.record_count) {
        protocol::RecordHeader rh;
        std::memcpy(&rh, frame.data() + offset, sizeof rh);
        if (rh.type != static_cast<std::uint16_t>(RecordType::Trade) ||
            rh.instrument_id != instrument_id)
            break;
        protocol::Trade trade;
        std::memcpy(&trade, frame.data() + offset, sizeof trade);
        ++out.trades;
        apply_trade(tick, slot, trade, out);
        offset += rh.length;
        ++index;
    }
    // The kernels' own checks cannot throw here (apply_trade refuses what they would), so
    // the copy always comes back.
    in.tick = tick;
    return offset;
}

void MarketCore::on_trade(std::uint32_t slot, const protocol::Trade& trade, IngestResult& out) {
    Instrument& in = instruments_[slot];
    if (!apply_trade(in.tick, slot, trade, out)) return;
    const MarketState& m = in.tick.market;
    for (std::size_t i = 0; i < in.triggers.size();) {
        const Trigger& t = in.triggers[i];
        if (t.above ? trade.price >= t.level : trade.price <= t.level) {
            const double size = static_cast<double>(trade.size);
            signals::Bar at{trade.time_ns, trade.price, trade.price, trade.price, trade.price,
                            size, 1, 0.0, 0.0};
            const std::uint32_t id = t.id;
            in.triggers.erase(in.triggers.begin() + static_cast<std::ptrdiff_t>(i));
            if (armed_.contains(id)) {
                fire(id, in, trade, out);  // its news goes out as a FiredOrder
            } else {
                out.events.push_back(SignalEvent{EventKind::TriggerFired, slot, id, at,
                                                 m.ema_fast, m.ema_slow,
                                                 in.tick.vwap.value().vwap, m.delta});
            }
        } else {
            ++i;
        }
    }
}

MarketState MarketCore::state(std::uint32_t slot) const {
    const TickState& tick = instruments_.at(slot).tick;
    MarketState m = tick.market;
    const auto v = tick.vwap.value();
    m.vwap = v.vwap;
    m.vwap_upper = v.upper;
    m.vwap_lower = v.lower;
    return m;
}

void MarketCore::on_quote(std::uint32_t slot, const protocol::Quote& quote) {
    MarketState& m = instruments_[slot].tick.market;
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
    if (auto error = protocol::validate_frame(frame, out.header)) return error;
    std::size_t offset = sizeof(protocol::FrameHeader);
    for (std::uint32_t i = 0; i < out.header.record_count;) {
        protocol::RecordHeader rh;
        std::memcpy(&rh, frame.data() + offset, sizeof rh);
        const auto type = static_cast<RecordType>(rh.type);
        if (type == RecordType::Trade || type == RecordType::Quote) {
            const auto slot = resolve(rh.instrument_id);
            if (slot < 0) {
                ++(type == RecordType::Trade ? out.trades : out.quotes);
                ++out.unknown_instrument;
            } else if (type == RecordType::Quote) {
                ++out.quotes;
                protocol::Quote quote;
                std::memcpy(&quote, frame.data() + offset, sizeof quote);
                on_quote(static_cast<std::uint32_t>(slot), quote);
            } else if (instruments_[static_cast<std::size_t>(slot)].triggers.empty()) {
                offset = apply_trade_run(static_cast<std::uint32_t>(slot), rh.instrument_id,
                                         frame, offset, i, out);
                continue;
            } else {
                ++out.trades;
                protocol::Trade trade;
                std::memcpy(&trade, frame.data() + offset, sizeof trade);
                on_trade(static_cast<std::uint32_t>(slot), trade, out);
            }
        } else if (type == RecordType::Depth) {
            ++out.depth;  // depth is forwarded by the shims; the engine keeps no book yet
        } else {
            if (type == RecordType::Position && !copies_.empty()) {
                const auto slot = resolve(rh.instrument_id);
                protocol::Position position;
                std::memcpy(&position, frame.data() + offset, sizeof position);
                if (slot >= 0) copy_position(session, static_cast<std::uint32_t>(slot), position, out);
            }
            out.others.push_back(OtherRecord{type, static_cast<std::uint32_t>(offset)});
        }
        offset += rh.length;
        ++i;
    }
    return std::nullopt;
}

}  // namespace tickbridge::engine
