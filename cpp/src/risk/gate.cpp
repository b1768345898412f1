// The pre-trade checks. Order of the checks (docs/risk.md): validity, allow-list, session,
// daily loss and trading state, order size, tick grid, market data age, price band,
// projected position (instrument, then account), rate limits. The first failure decides.
#include "tickbridge/risk/gate.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <stdexcept>

namespace tickbridge::risk {

namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;
constexpr std::int64_t kMinuteNs = 60 * kSecondNs;
constexpr std::int64_t kHourNs = 60 * kMinuteNs;
// A price within this fraction of a tick of the grid is on it: prices arrive as binary
// doubles (6000.1 is not exact), so an exact modulo would refuse good prices.
constexpr double kTickEpsilon = 1e-6;

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
    char buf[320];
    va_list args;
    va_start(args, fmt);
    const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    return std::string(buf, static_cast<std::size_t>(std::clamp(n, 0, static_cast<int>(sizeof buf) - 1)));
}

std::int64_t abs64(std::int64_t v) { return v < 0 ? -v : v; }

const char* side_name(Side side) { return side == Side::Buy ? "buy" : "sell"; }

// Expires timestamps older than the window, then says whether one more order fits.
bool window_has_room(std::deque<std::int64_t>& sent, std::int64_t now_ns, std::int64_t window_ns,
                     std::int64_t limit) {
    if (limit <= 0) return true;
    while (!sent.empty() && sent.front() <= now_ns - window_ns) sent.pop_front();
    return static_cast<std::int64_t>(sent.size()) < limit;
}

}  // namespace

const char* to_string(RiskReason reason) {
    switch (reason) {
        case RiskReason::Ok: return "OK";
        case RiskReason::InvalidOrder: return "INVALID_ORDER";
        case RiskReason::NotAllowed: return "NOT_ALLOWED";
        case RiskReason::SessionClosed: return "SESSION_CLOSED";
        case RiskReason::TradingHalted: return "TRADING_HALTED";
        case RiskReason::ReducingOnly: return "REDUCING_ONLY";
        case RiskReason::DailyLoss: return "DAILY_LOSS";
        case RiskReason::MaxOrderSize: return "MAX_ORDER_SIZE";
        case RiskReason::OffTick: return "OFF_TICK";
        case RiskReason::StaleMarketData: return "STALE_MARKET_DATA";
        case RiskReason::PriceBand: return "PRICE_BAND";
        case RiskReason::PositionLimit: return "POSITION_LIMIT";
        case RiskReason::AccountPositionLimit: return "ACCOUNT_POSITION_LIMIT";
        case RiskReason::RateLimit: return "RATE_LIMIT";
    }
    return "UNKNOWN";
}

const char* to_string(TradingState state) {
    switch (state) {
        case TradingState::Active: return "ACTIVE";
        case TradingState::ReducingOnly: return "REDUCING_ONLY";
        case TradingState::Halted: return "HALTED";
    }
    return "UNKNOWN";
}

std::uint32_t RiskGate::add_instrument(const InstrumentLimits& limits) {
    if (!(limits.tick_size > 0.0)) throw std::invalid_argument(limits.symbol + ": tick_size must be > 0");
    const double point_value = limits.point_value > 0.0 ? limits.point_value : 1.0;
    own_.register_instrument(limits.symbol, point_value, limits.tick_size);
    instruments_.push_back(InstrumentState{limits, 0.0, 0, false, 0.0, 0.0, 0, false});
    const auto id = static_cast<std::uint32_t>(instruments_.size() - 1);
    for (auto& account : accounts_) {
        account.books.emplace_back();
        account.allowed.push_back(account.limits.allowed_instruments.empty() ? 1 : 0);
    }
    instrument_ids_.emplace(limits.symbol, id);
    relink();
    return id;
}

std::uint32_t RiskGate::add_account(const AccountLimits& limits) {
    accounts_.emplace_back();
    accounts_.back().books.resize(instruments_.size());
    const auto id = static_cast<std::uint32_t>(accounts_.size() - 1);
    replace_account_limits(id, limits);
    account_ids_.emplace(limits.account, id);
    relink();
    return id;
}

void RiskGate::replace_instrument_limits(std::uint32_t instrument_id, const InstrumentLimits& limits) {
    if (!(limits.tick_size > 0.0)) throw std::invalid_argument(limits.symbol + ": tick_size must be > 0");
    instrument_at(instrument_id).limits = limits;
    if (limits.point_value > 0.0) own_.register_instrument(limits.symbol, limits.point_value, limits.tick_size);
}

// -- positions: read from one position book ------------------------------------------------

void RiskGate::attach_positions(const orders::PositionBook& positions) {
    external_ = &positions;
    relink();
}

void RiskGate::alias_instrument(const std::string& symbol, std::uint32_t instrument_id) {
    instrument_at(instrument_id);
    const auto [it, added] = instrument_ids_.emplace(symbol, instrument_id);
    if (!added && it->second != instrument_id)
        throw std::invalid_argument("symbol " + symbol + " is instrument " +
                                    instruments_[it->second].limits.symbol + " already");
    if (added) relink();
}

void RiskGate::relink() const {
    for (const auto& account : accounts_)
        for (const auto& book : account.books) {
            book.slot = kNoSlot;
            book.net_qty = &kFlat;
            book.more.clear();
        }
    linked_ = 0;
    linked_data_ = nullptr;
    link_positions();
}

void RiskGate::link_new() const {
    const auto& all = positions().positions();
    if (all.data() != linked_data_) {  // storage moved (a new slot): re-point the linked ones
        for (const auto& account : accounts_)
            for (const auto& book : account.books)
                if (book.slot != kNoSlot) book.net_qty = &all[book.slot].net_qty;
        linked_data_ = all.data();
    }
    for (; linked_ < all.size(); ++linked_) {
        const auto& p = all[linked_];
        const auto a = account_ids_.find(p.account);
        const auto i = instrument_ids_.find(p.instrument);
        if (a == account_ids_.end() || i == instrument_ids_.end()) continue;
        const auto& book = accounts_[a->second].books[i->second];
        const auto slot = static_cast<std::uint32_t>(linked_);
        if (book.slot == kNoSlot) {
            book.slot = slot;
            book.net_qty = &all[slot].net_qty;
        } else {
            book.more.push_back(slot);
        }
    }
}

double RiskGate::realized_today(const Exposure& book, const InstrumentState& instrument) const {
    const auto& all = positions().positions();
    double points = 0.0;
    book.each_slot([&](std::uint32_t slot) {
        points += all[slot].realized_points - (slot < day_base_.size() ? day_base_[slot] : 0.0);
    });
    return points * instrument.limits.point_value;
}

double RiskGate::unrealized(const Exposure& book, const InstrumentState& instrument, double mark) const {
    const auto& all = positions().positions();
    double pnl = 0.0;
    book.each_slot([&](std::uint32_t slot) {
        const auto& p = all[slot];
        if (p.net_qty != 0)
            pnl += static_cast<double>(p.net_qty) * (mark - p.avg_entry_price) * instrument.limits.point_value;
    });
    return pnl;
}

void RiskGate::mark_day_start() {
    const auto& all = positions().positions();
    day_base_.resize(all.size());
    for (std::size_t slot = 0; slot < all.size(); ++slot) day_base_[slot] = all[slot].realized_points;
}

void RiskGate::replace_account_limits(std::uint32_t account_id, const AccountLimits& limits) {
    auto& account = account_at(account_id);
    account.limits = limits;
    const bool all = limits.allowed_instruments.empty();
    account.allowed.assign(instruments_.size(), all ? 1 : 0);
    for (auto id : limits.allowed_instruments) {
        if (id >= instruments_.size())
            throw std::out_of_range(limits.account + ": allowed instrument id " + std::to_string(id) +
                                    " is not registered");
        account.allowed[id] = 1;
    }
}

RiskGate::AccountState& RiskGate::account_at(std::uint32_t account_id) {
    if (account_id >= accounts_.size())
        throw std::out_of_range("account id " + std::to_string(account_id) + " is not registered");
    return accounts_[account_id];
}

const RiskGate::AccountState& RiskGate::account_at(std::uint32_t account_id) const {
    if (account_id >= accounts_.size())
        throw std::out_of_range("account id " + std::to_string(account_id) + " is not registered");
    return accounts_[account_id];
}

RiskGate::InstrumentState& RiskGate::instrument_at(std::uint32_t instrument_id) {
    if (instrument_id >= instruments_.size())
        throw std::out_of_range("instrument id " + std::to_string(instrument_id) + " is not registered");
    return instruments_[instrument_id];
}

// The mark for unrealized PnL: the last trade, else the mid, else nothing (0 = no mark).
double RiskGate::mark(const InstrumentState& instrument) const {
    if (instrument.has_trade) return instrument.last_price;
    if (instrument.has_quote) return 0.5 * (instrument.bid + instrument.ask);
    return 0.0;
}

double RiskGate::account_pnl(std::uint32_t account_id) const {
    const auto& account = account_at(account_id);
    link_positions();
    return pnl_of(account);
}

double RiskGate::pnl_of(const AccountState& account) const {
    double pnl = 0.0;
    for (std::size_t i = 0; i < account.books.size(); ++i) {
        const auto& book = account.books[i];
        if (book.slot == kNoSlot) continue;
        pnl += realized_today(book, instruments_[i]);
        const double m = mark(instruments_[i]);
        // Without a mark the open position is valued at its own average price (no unrealized).
        if (m != 0.0) pnl += unrealized(book, instruments_[i], m);
    }
    return pnl;
}

bool RiskGate::update_loss_state(AccountState& account) {
    if (account.loss_breached || account.limits.daily_loss_limit <= 0.0) return false;
    if (pnl_of(account) > -account.limits.daily_loss_limit) return false;
    account.loss_breached = true;
    // The loss limit only ever tightens the state: a HALTED account stays halted.
    if (static_cast<int>(account.limits.on_daily_loss) > static_cast<int>(account.state))
        account.state = account.limits.on_daily_loss;
    return true;
}

std::vector<std::uint32_t> RiskGate::evaluate_loss() {
    link_positions();
    std::vector<std::uint32_t> changed;
    for (auto& account : accounts_)
        if (update_loss_state(account)) changed.push_back(static_cast<std::uint32_t>(&account - accounts_.data()));
    return changed;
}

void RiskGate::start_new_day() {
    mark_day_start();
    for (auto& account : accounts_) {
        if (account.loss_breached) account.state = TradingState::Active;
        account.loss_breached = false;
    }
}

void RiskGate::set_account_state(std::uint32_t account_id, TradingState state) {
    account_at(account_id).state = state;
}
TradingState RiskGate::account_state(std::uint32_t account_id) const { return account_at(account_id).state; }
bool RiskGate::loss_breached(std::uint32_t account_id) const { return account_at(account_id).loss_breached; }
TradingState RiskGate::effective_state(std::uint32_t account_id) const {
    return std::max(state_, account_at(account_id).state);
}

// Reducing: moves the position toward zero and, counted with the working orders on the
// same side, never past it (a sell of 3 against long 2 would flip: not reducing).
bool RiskGate::reduces(std::int64_t position, const Exposure& book, Side side, std::int64_t qty) {
    if (side == Side::Sell) return position > 0 && qty + book.working_sell <= position;
    return position < 0 && qty + book.working_buy <= -position;
}

void RiskGate::on_trade(std::uint32_t instrument_id, double price, std::int64_t time_ns) {
    auto& instrument = instrument_at(instrument_id);
    instrument.last_price = price;
    instrument.last_time_ns = time_ns;
    instrument.has_trade = true;
}

void RiskGate::on_quote(std::uint32_t instrument_id, double bid, double ask, std::int64_t time_ns) {
    auto& instrument = instrument_at(instrument_id);
    instrument.bid = bid;
    instrument.ask = ask;
    instrument.quote_time_ns = time_ns;
    instrument.has_quote = bid > 0.0 && ask > 0.0;
}

void RiskGate::on_fill(std::uint32_t account_id, std::uint32_t instrument_id, Side side, std::int64_t qty,
                       double price) {
    auto& account = account_at(account_id);
    const auto& instrument = instrument_at(instrument_id);
    if (external_ != nullptr)
        throw std::logic_error("on_fill: the gate reads the attached position book; book the fill there "
                               "and release_working() its quantity");
    if (qty <= 0) return;  // a zero fill would make the average price 0/0
    release_working(account_id, instrument_id, side, qty);
    const auto slot = own_.position_slot(own_.account_id(account.limits.account),
                                         own_.instrument_id(instrument.limits.symbol));
    own_.apply_fill(slot, side, qty, price);
}

void RiskGate::release_working(std::uint32_t account_id, std::uint32_t instrument_id, Side side,
                               std::int64_t qty) {
    instrument_at(instrument_id);
    auto& book = account_at(account_id).books[instrument_id];
    auto& working = side == Side::Buy ? book.working_buy : book.working_sell;
    working = std::max<std::int64_t>(0, working - qty);
}

void RiskGate::set_working(std::uint32_t account_id, std::uint32_t instrument_id, std::int64_t working_buy,
                           std::int64_t working_sell) {
    instrument_at(instrument_id);
    auto& book = account_at(account_id).books[instrument_id];
    book.working_buy = working_buy;
    book.working_sell = working_sell;
}

void RiskGate::note_sent(std::uint32_t account_id, std::int64_t time_ns) {
    auto& account = account_at(account_id);
    if (account.limits.max_orders_per_second > 0) account.sent_second.push_back(time_ns);
    if (account.limits.max_orders_per_minute > 0) account.sent_minute.push_back(time_ns);
    if (account.limits.max_orders_per_hour > 0) account.sent_hour.push_back(time_ns);
}

PositionBook RiskGate::book(std::uint32_t account_id, std::uint32_t instrument_id) const {
    const auto& account = account_at(account_id);
    if (instrument_id >= account.books.size())
        throw std::out_of_range("instrument id " + std::to_string(instrument_id) + " is not registered");
    link_positions();
    const auto& book = account.books[instrument_id];
    const auto& instrument = instruments_[instrument_id];
    PositionBook view;
    view.position = net(book);
    view.realized_pnl = realized_today(book, instrument);
    view.working_buy = book.working_buy;
    view.working_sell = book.working_sell;
    // The average entry of the open position (of the symbols on its side, weighted).
    double cost = 0.0;
    std::int64_t held = 0;
    book.each_slot([&](std::uint32_t slot) {
        const auto& p = positions().positions()[slot];
        if (p.net_qty == 0 || (p.net_qty > 0) != (view.position > 0)) return;
        cost += p.avg_entry_price * static_cast<double>(p.net_qty);
        held += p.net_qty;
    });
    view.avg_price = held != 0 ? cost / static_cast<double>(held) : 0.0;
    return view;
}

void RiskGate::commit_order(AccountState& account, const Order& order, std::int64_t now_ns) {
    auto& book = account.books[order.instrument_id];
    (order.side == Side::Buy ? book.working_buy : book.working_sell) += order.qty;
    note_sent(order.account_id, now_ns);
}

Decision RiskGate::check(const Order& order, std::int64_t now_ns, bool session_open, bool commit) {
    Decision decision;
    decision.price = order.price;
    decision.reason = evaluate(order, now_ns, session_open, decision.price, &decision.message);
    if (decision.ok() && commit) commit_order(accounts_[order.account_id], order, now_ns);
    return decision;
}

RiskReason RiskGate::check_fast(const Order& order, std::int64_t now_ns, bool session_open, bool commit,
                                double& price_out) {
    price_out = order.price;
    const RiskReason reason = evaluate(order, now_ns, session_open, price_out, nullptr);
    if (reason == RiskReason::Ok && commit) commit_order(accounts_[order.account_id], order, now_ns);
    return reason;
}

// std::round, inline: a truncating conversion instead of a libm call on the check path
// (the same result for every |ticks| < 2^52; larger ones take std::round).
static inline double nearest_tick(double ticks) {
    if (!(std::fabs(ticks) < 4503599627370496.0)) return std::round(ticks);
    const double away = ticks >= 0.0 ? ticks + 0.5 : ticks - 0.5;
    const auto whole = static_cast<double>(static_cast<std::int64_t>(away));
    // x + 0.5 rounds up in binary for the largest double below 0.5 (0.49999999999999994):
    // std::round gives 0 there; keep its answer whenever the addition was inexact.
    return std::fabs(whole - ticks) > 0.5 ? std::round(ticks) : whole;
}

// message is null on the batch path: sentences are only built when someone reads them.
RiskReason RiskGate::evaluate(const Order& order, std::int64_t now_ns, bool session_open, double& price_out,
                              std::string* message) {
#define TB_REFUSE(reason_, ...)                               \
    do {                                                      \
        if (message) *message = format(__VA_ARGS__);          \
        return RiskReason::reason_;                           \
    } while (0)

    if (order.account_id >= accounts_.size())
        TB_REFUSE(NotAllowed, "account id %u is not configured", order.account_id);
    if (order.instrument_id >= instruments_.size())
        TB_REFUSE(NotAllowed, "instrument id %u is not configured", order.instrument_id);
    auto& account = accounts_[order.account_id];
    auto& instrument = instruments_[order.instrument_id];
    const auto& lim = instrument.limits;
    const char* symbol = lim.symbol.c_str();
    const char* account_name = account.limits.account.c_str();
    const bool priced = order.order_type != OrderType::Market;

    // Values straight from numpy in check_batch are not checked by the binding.
    if (order.side != Side::Buy && order.side != Side::Sell)
        TB_REFUSE(InvalidOrder, "side %d for %s is neither buy (1) nor sell (2)",
                  static_cast<int>(order.side), symbol);
    if (static_cast<int>(order.order_type) < 1 || static_cast<int>(order.order_type) > 4)
        TB_REFUSE(InvalidOrder, "order type %d for %s is unknown", static_cast<int>(order.order_type),
                  symbol);
    if (order.qty <= 0) TB_REFUSE(InvalidOrder, "order quantity %lld for %s must be positive",
                                  static_cast<long long>(order.qty), symbol);
    if (priced && !(std::isfinite(order.price) && order.price > 0.0))
        TB_REFUSE(InvalidOrder, "order price %g for %s must be a positive number", order.price, symbol);
    if (!account.allowed[order.instrument_id])
        TB_REFUSE(NotAllowed, "%s is not on the allow-list of account %s", symbol, account_name);

    // Daily loss first: the order may be the first event after the market moved.
    link_positions();
    update_loss_state(account);
    const orders::Position* all = positions().positions().data();
    const auto& book = account.books[order.instrument_id];
    const std::int64_t position = net(all, book);
    const TradingState state = std::max(state_, account.state);
    if (state == TradingState::Halted) {
        if (account.loss_breached && account.state == TradingState::Halted)
            TB_REFUSE(DailyLoss, "account %s breached its daily loss limit %.2f (PnL %.2f): trading halted",
                      account_name, account.limits.daily_loss_limit, account_pnl(order.account_id));
        TB_REFUSE(TradingHalted, "trading is halted for account %s", account_name);
    }
    // After the halt: a halted account says so whatever the hour (a trader who killed it
    // must not read "session closed" and think the halt was lost).
    if (!session_open) TB_REFUSE(SessionClosed, "the %s session is closed", symbol);
    if (state == TradingState::ReducingOnly && !reduces(position, book, order.side, order.qty)) {
        if (account.loss_breached && state_ != TradingState::ReducingOnly)
            TB_REFUSE(DailyLoss,
                      "account %s breached its daily loss limit %.2f (PnL %.2f): only position-reducing "
                      "orders pass; %s %lld %s against position %lld does not reduce",
                      account_name, account.limits.daily_loss_limit, account_pnl(order.account_id),
                      side_name(order.side), static_cast<long long>(order.qty), symbol,
                      static_cast<long long>(position));
        TB_REFUSE(ReducingOnly,
                  "account %s is reducing-only: %s %lld %s against position %lld (working buy %lld, sell "
                  "%lld) does not reduce",
                  account_name, side_name(order.side), static_cast<long long>(order.qty), symbol,
                  static_cast<long long>(position), static_cast<long long>(book.working_buy),
                  static_cast<long long>(book.working_sell));
    }

    if (order.qty > lim.max_order_qty)
        TB_REFUSE(MaxOrderSize, "order %lld exceeds max order size %lld for %s",
                  static_cast<long long>(order.qty), static_cast<long long>(lim.max_order_qty), symbol);

    if (priced) {
        const double ticks = order.price / lim.tick_size;
        const double nearest = nearest_tick(ticks);
        if (std::fabs(ticks - nearest) > kTickEpsilon) {
            if (lim.tick_policy == TickPolicy::Reject)
                TB_REFUSE(OffTick, "price %.10g for %s is off the %.10g tick grid", order.price, symbol,
                          lim.tick_size);
            // Passive side: a limit buy goes down, a limit sell up (less aggressive); a stop is
            // passive further from the market, so a buy stop goes up and a sell stop down.
            const bool round_down = (order.side == Side::Buy) == (order.order_type != OrderType::Stop);
            price_out = (round_down ? std::floor(ticks) : std::ceil(ticks)) * lim.tick_size;
            if (message)
                *message = format("price %.10g for %s rounded to %.10g on the %.10g tick grid", order.price,
                                  symbol, price_out, lim.tick_size);
        } else {
            price_out = nearest * lim.tick_size;
        }
    }

    // Reference price and its age: every order needs fresh data, a market order too.
    double reference = 0.0;
    std::int64_t reference_time = 0;
    if (lim.band_basis == BandBasis::Mid) {
        if (instrument.has_quote) {
            reference = 0.5 * (instrument.bid + instrument.ask);
            reference_time = instrument.quote_time_ns;
        }
    } else if (instrument.has_trade) {
        reference = instrument.last_price;
        reference_time = instrument.last_time_ns;
    }
    const char* basis = lim.band_basis == BandBasis::Mid ? "mid" : "last trade";
    if (reference == 0.0) TB_REFUSE(StaleMarketData, "no %s price for %s yet", basis, symbol);
    const std::int64_t age = now_ns - reference_time;
    if (age > lim.max_data_age_ns)
        TB_REFUSE(StaleMarketData, "%s price for %s is %.3f s old, limit %.3f s", basis, symbol,
                  static_cast<double>(age) / 1e9, static_cast<double>(lim.max_data_age_ns) / 1e9);
    if (priced) {
        const double band = lim.band_unit == BandUnit::Ticks ? lim.band_width * lim.tick_size
                                                             : reference * lim.band_width / 100.0;
        if (std::fabs(price_out - reference) > band + kTickEpsilon * lim.tick_size)
            TB_REFUSE(PriceBand, "price %.10g for %s is %.10g from the %s %.10g, band %.10g (%g %s)",
                      price_out, symbol, std::fabs(price_out - reference), basis, reference, band,
                      lim.band_width, lim.band_unit == BandUnit::Ticks ? "ticks" : "%");
    }

    // Projected position: the worst case if every working order on a side fills.
    const std::int64_t add_buy = order.side == Side::Buy ? order.qty : 0;
    const std::int64_t add_sell = order.side == Side::Sell ? order.qty : 0;
    const std::int64_t worst_long = position + book.working_buy + add_buy;
    const std::int64_t worst_short = position - book.working_sell - add_sell;
    const std::int64_t projected = std::max(abs64(worst_long), abs64(worst_short));
    if (projected > lim.max_position)
        TB_REFUSE(PositionLimit,
                  "projected position %lld in %s exceeds limit %lld (position %lld, working buy %lld, "
                  "sell %lld, order %s %lld)",
                  static_cast<long long>(order.side == Side::Buy ? worst_long : worst_short), symbol,
                  static_cast<long long>(lim.max_position), static_cast<long long>(position),
                  static_cast<long long>(book.working_buy), static_cast<long long>(book.working_sell),
                  side_name(order.side), static_cast<long long>(order.qty));
    if (account.limits.max_position > 0) {
        std::int64_t total = 0;
        for (std::size_t i = 0; i < account.books.size(); ++i) {
            const auto& b = account.books[i];
            const bool this_one = i == order.instrument_id;
            const std::int64_t p = this_one ? position : net(all, b);
            const std::int64_t lo = p - b.working_sell - (this_one ? add_sell : 0);
            const std::int64_t hi = p + b.working_buy + (this_one ? add_buy : 0);
            total += std::max(abs64(lo), abs64(hi));
        }
        if (total > account.limits.max_position)
            TB_REFUSE(AccountPositionLimit, "projected position %lld across account %s exceeds limit %lld",
                      static_cast<long long>(total), account_name,
                      static_cast<long long>(account.limits.max_position));
    }

    if (!window_has_room(account.sent_second, now_ns, kSecondNs, account.limits.max_orders_per_second))
        TB_REFUSE(RateLimit, "account %s sent %lld orders in the last second, limit %lld", account_name,
                  static_cast<long long>(account.sent_second.size()),
                  static_cast<long long>(account.limits.max_orders_per_second));
    if (!window_has_room(account.sent_minute, now_ns, kMinuteNs, account.limits.max_orders_per_minute))
        TB_REFUSE(RateLimit, "account %s sent %lld orders in the last minute, limit %lld", account_name,
                  static_cast<long long>(account.sent_minute.size()),
                  static_cast<long long>(account.limits.max_orders_per_minute));
    if (!window_has_room(account.sent_hour, now_ns, kHourNs, account.limits.max_orders_per_hour))
        TB_REFUSE(RateLimit, "account %s sent %lld orders in the last hour, limit %lld", account_name,
                  static_cast<long long>(account.sent_hour.size()),
                  static_cast<long long>(account.limits.max_orders_per_hour));
    return RiskReason::Ok;
#undef TB_REFUSE
}

}  // namespace tickbridge::risk
