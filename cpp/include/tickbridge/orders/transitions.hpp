// The order state machine as one table: one line per allowed (state, event) pair, the
// real case that needs it beside it. Every pair not listed is refused: recorded on the
// order and surfaced, never applied. Tests and docs/orders.md are generated from this.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "tickbridge/enums.hpp"

namespace tickbridge::orders {

// Engine-internal events; the engine maps wire records (command acks, order updates,
// fills) and its own sends onto these. Values are stable: they appear in the audit log.
enum class OrderEvent : std::uint8_t {
    SubmitSent = 1,       // engine handed a submit command to the shim
    SubmitAcked = 2,      // shim's command ack: it placed the order with the platform
    Accepted = 3,         // platform reports the order working
    Fill = 4,             // an execution: exec id, qty, price, ts
    CancelSent = 5,       // engine sent a cancel command
    CancelAcked = 6,      // shim's command ack for the cancel (not yet canceled)
    Canceled = 7,         // platform reports the order canceled
    CancelRejected = 8,   // platform refused the cancel (typically: too late, filled)
    ReplaceSent = 9,      // engine sent a replace with a new qty/price
    Replaced = 10,        // platform confirms the replace
    ReplaceRejected = 11, // platform refused the replace
    Rejected = 12,        // shim or platform rejected the order itself
    Expired = 13,         // platform expired the order (day order at the close, IOC/FOK)
};
inline constexpr std::size_t kEventCount = 13;
inline constexpr std::size_t kStatusCount = 11;

// How the next state is found. Most lines name it (Goto); fills and the answers to a
// pending cancel/replace depend on how much is filled, so those name a rule instead.
enum class NextRule : std::uint8_t {
    Goto = 1,               // go to `to`
    Stay = 2,               // state unchanged (the event is still booked/recorded)
    ByFills = 3,            // PartiallyFilled, or Filled once filled >= qty
    StayUnlessComplete = 4, // unchanged, or Filled once filled >= qty
    Resume = 5,             // back to live: Working / PartiallyFilled / Filled by fills
};

struct Transition {
    OrderStatus from;
    OrderEvent event;
    NextRule rule;
    OrderStatus to;  // meaningful for Goto; equals `from` otherwise
    const char* why;
};

namespace detail {
using S = OrderStatus;
using E = OrderEvent;
using R = NextRule;
constexpr Transition go(S f, E e, S t, const char* why) { return {f, e, R::Goto, t, why}; }
constexpr Transition rule(S f, E e, R r, const char* why) { return {f, e, r, f, why}; }
}  // namespace detail

// clang-format off
inline constexpr Transition kTransitions[] = {
    // NEW_REQUESTED: made by the engine, not yet handed to the shim.
    detail::go(  detail::S::NewRequested,    detail::E::SubmitSent,      detail::S::Submitted,    "engine handed the submit command to the shim"),
    detail::go(  detail::S::NewRequested,    detail::E::Rejected,        detail::S::Rejected,     "engine could not send it (command queue bound hit, shim not connected)"),
    detail::go(  detail::S::NewRequested,    detail::E::Canceled,        detail::S::Canceled,     "strategy or kill switch withdrew an order that was never sent"),
    // SUBMITTED: sent, no word back yet.
    detail::rule(detail::S::Submitted,       detail::E::SubmitSent,      detail::R::Stay,         "submit resent after a lost ack; the shim dedups by client order id"),
    detail::go(  detail::S::Submitted,       detail::E::SubmitAcked,     detail::S::Acknowledged, "shim placed the order with the platform"),
    detail::go(  detail::S::Submitted,       detail::E::Accepted,        detail::S::Working,      "NinjaTrader calls OnOrderUpdate(Working) before SubmitOrderUnmanaged returns: working precedes the ack"),
    detail::rule(detail::S::Submitted,       detail::E::Fill,            detail::R::ByFills,      "fill before the ack: a marketable order fills before the shim's ack is sent"),
    detail::go(  detail::S::Submitted,       detail::E::CancelSent,      detail::S::PendingCancel,"kill switch or strategy cancels while the submit ack is in flight"),
    detail::go(  detail::S::Submitted,       detail::E::Canceled,        detail::S::Canceled,     "IOC with nothing to fill is canceled by the platform before the ack arrives"),
    detail::go(  detail::S::Submitted,       detail::E::Rejected,        detail::S::Rejected,     "shim or platform refused the submit (bad price, margin, unknown symbol)"),
    detail::go(  detail::S::Submitted,       detail::E::Expired,         detail::S::Expired,      "FOK/IOC expired at once, before the ack arrives"),
    // ACKNOWLEDGED: the shim placed it; the platform has not said working yet.
    detail::rule(detail::S::Acknowledged,    detail::E::SubmitAcked,     detail::R::Stay,         "duplicate ack for a resent submit"),
    detail::go(  detail::S::Acknowledged,    detail::E::Accepted,        detail::S::Working,      "platform reports the order working"),
    detail::rule(detail::S::Acknowledged,    detail::E::Fill,            detail::R::ByFills,      "fill before the working update (out-of-order callbacks with some brokers)"),
    detail::go(  detail::S::Acknowledged,    detail::E::CancelSent,      detail::S::PendingCancel,"cancel before the working update"),
    detail::go(  detail::S::Acknowledged,    detail::E::ReplaceSent,     detail::S::PendingReplace,"modify once the platform holds the order"),
    detail::go(  detail::S::Acknowledged,    detail::E::Canceled,        detail::S::Canceled,     "IOC canceled by the platform, or canceled by hand in the DOM"),
    detail::go(  detail::S::Acknowledged,    detail::E::Rejected,        detail::S::Rejected,     "platform or broker rejects after the shim placed it (risk, margin)"),
    detail::go(  detail::S::Acknowledged,    detail::E::Expired,         detail::S::Expired,      "IOC/FOK or day order expired"),
    // WORKING: live at the platform, nothing filled.
    detail::rule(detail::S::Working,         detail::E::SubmitAcked,     detail::R::Stay,         "the ack arrives after the working update (NinjaTrader order of callbacks)"),
    detail::rule(detail::S::Working,         detail::E::Accepted,        detail::R::Stay,         "repeated working update (NinjaTrader reports Accepted then Working)"),
    detail::rule(detail::S::Working,         detail::E::Fill,            detail::R::ByFills,      "partial or complete fill"),
    detail::go(  detail::S::Working,         detail::E::CancelSent,      detail::S::PendingCancel,"strategy or kill switch cancels"),
    detail::go(  detail::S::Working,         detail::E::ReplaceSent,     detail::S::PendingReplace,"strategy modifies qty/price"),
    detail::go(  detail::S::Working,         detail::E::Canceled,        detail::S::Canceled,     "unsolicited cancel: by hand in the DOM, or by the exchange"),
    detail::go(  detail::S::Working,         detail::E::Expired,         detail::S::Expired,      "day order expired at the session close"),
    // PARTIALLY_FILLED: live, some filled.
    detail::rule(detail::S::PartiallyFilled, detail::E::SubmitAcked,     detail::R::Stay,         "fill before the ack: the ack arrives after the first fill"),
    detail::rule(detail::S::PartiallyFilled, detail::E::Accepted,        detail::R::Stay,         "working update delivered after the first fill (out-of-order callbacks)"),
    detail::rule(detail::S::PartiallyFilled, detail::E::Fill,            detail::R::ByFills,      "further partial fill, or the last one"),
    detail::go(  detail::S::PartiallyFilled, detail::E::CancelSent,      detail::S::PendingCancel,"cancel the remaining qty"),
    detail::go(  detail::S::PartiallyFilled, detail::E::ReplaceSent,     detail::S::PendingReplace,"modify the remaining qty/price (new qty must stay above filled)"),
    detail::go(  detail::S::PartiallyFilled, detail::E::Canceled,        detail::S::Canceled,     "unsolicited cancel of the remainder"),
    detail::go(  detail::S::PartiallyFilled, detail::E::Expired,         detail::S::Expired,      "remainder of a day order expired at the close"),
    // PENDING_CANCEL: cancel sent, answer not in. Never force-closed: wait or reconcile.
    detail::rule(detail::S::PendingCancel,   detail::E::SubmitAcked,     detail::R::Stay,         "cancel was sent before the submit ack arrived"),
    detail::rule(detail::S::PendingCancel,   detail::E::Accepted,        detail::R::Stay,         "working update that was in flight when the cancel went out"),
    detail::rule(detail::S::PendingCancel,   detail::E::Fill,            detail::R::StayUnlessComplete, "fill racing the cancel: booked; the cancel may still land on the rest"),
    detail::rule(detail::S::PendingCancel,   detail::E::CancelSent,      detail::R::Stay,         "cancel resent after link doubt; still pending, not force-closed"),
    detail::rule(detail::S::PendingCancel,   detail::E::CancelAcked,     detail::R::Stay,         "shim passed the cancel to the platform; not canceled yet"),
    detail::go(  detail::S::PendingCancel,   detail::E::Canceled,        detail::S::Canceled,     "the cancel landed"),
    detail::rule(detail::S::PendingCancel,   detail::E::CancelRejected,  detail::R::Resume,       "cancel too late or refused: the order lives on (or filled meanwhile)"),
    detail::rule(detail::S::PendingCancel,   detail::E::Replaced,        detail::R::Stay,         "replace sent before the cancel landed first; new qty/price applied, cancel still pending"),
    detail::rule(detail::S::PendingCancel,   detail::E::ReplaceRejected, detail::R::Stay,         "replace sent before the cancel was refused; cancel still pending"),
    detail::go(  detail::S::PendingCancel,   detail::E::Rejected,        detail::S::Rejected,     "cancel sent before the ack; the submit itself is rejected"),
    detail::go(  detail::S::PendingCancel,   detail::E::Expired,         detail::S::Expired,      "the order expired while the cancel was in flight"),
    // PENDING_REPLACE: replace sent, answer not in. One logical order throughout.
    detail::rule(detail::S::PendingReplace,  detail::E::SubmitAcked,     detail::R::Stay,         "late ack of the original submit"),
    detail::rule(detail::S::PendingReplace,  detail::E::Accepted,        detail::R::Stay,         "working update in flight, or the new leg of a cancel-then-new modify going live"),
    detail::rule(detail::S::PendingReplace,  detail::E::Fill,            detail::R::StayUnlessComplete, "fill racing the replace: booked at the old terms"),
    detail::go(  detail::S::PendingReplace,  detail::E::CancelSent,      detail::S::PendingCancel,"kill switch cancels while a replace is pending"),
    detail::rule(detail::S::PendingReplace,  detail::E::Canceled,        detail::R::Stay,         "cancel leg of a platform's cancel-then-new modify: same logical order, wait for Replaced"),
    detail::rule(detail::S::PendingReplace,  detail::E::Replaced,        detail::R::Resume,       "replace confirmed: new qty/price apply, same client order id"),
    detail::rule(detail::S::PendingReplace,  detail::E::ReplaceRejected, detail::R::Resume,       "replace refused (too late, bad price): old qty/price stay"),
    detail::go(  detail::S::PendingReplace,  detail::E::Expired,         detail::S::Expired,      "the order expired while the replace was in flight"),
    // FILLED: terminal; only what a fill-first race delivers late is accepted.
    detail::rule(detail::S::Filled,          detail::E::SubmitAcked,     detail::R::Stay,         "fill before the ack: the ack arrives after the order filled"),
    detail::rule(detail::S::Filled,          detail::E::Accepted,        detail::R::Stay,         "working update delivered after the fill (out-of-order callbacks)"),
    detail::rule(detail::S::Filled,          detail::E::Fill,            detail::R::Stay,         "a fill beyond the order qty: booked and flagged as overfill, surfaced"),
    detail::rule(detail::S::Filled,          detail::E::CancelAcked,     detail::R::Stay,         "shim acked a cancel the fill already beat"),
    detail::rule(detail::S::Filled,          detail::E::CancelRejected,  detail::R::Stay,         "cancel lost the race to the fill: rejected as too late"),
    detail::rule(detail::S::Filled,          detail::E::ReplaceRejected, detail::R::Stay,         "replace lost the race to the fill"),
    // CANCELED: terminal, except a late fill.
    detail::rule(detail::S::Canceled,        detail::E::SubmitAcked,     detail::R::Stay,         "IOC canceled by the platform before the shim's ack arrived"),
    detail::rule(detail::S::Canceled,        detail::E::Fill,            detail::R::StayUnlessComplete, "late fill on a canceled order (DESIGN lessons): book it"),
    detail::rule(detail::S::Canceled,        detail::E::CancelAcked,     detail::R::Stay,         "shim's cancel ack arrives after the platform's canceled update"),
    detail::rule(detail::S::Canceled,        detail::E::CancelRejected,  detail::R::Stay,         "a resent cancel refused because the order is already canceled"),
    detail::rule(detail::S::Canceled,        detail::E::ReplaceRejected, detail::R::Stay,         "replace refused because the cancel landed first"),
    // EXPIRED: terminal, except a late fill.
    detail::rule(detail::S::Expired,         detail::E::Fill,            detail::R::StayUnlessComplete, "late fill on an expired order, same race as a cancel: book it"),
    detail::rule(detail::S::Expired,         detail::E::CancelRejected,  detail::R::Stay,         "cancel refused because the order already expired"),
    detail::rule(detail::S::Expired,         detail::E::ReplaceRejected, detail::R::Stay,         "replace refused because the order already expired"),
    // REJECTED: terminal, nothing accepted.
};
// clang-format on

inline constexpr std::size_t kTransitionCount = std::size(kTransitions);

// [status][event] -> index into kTransitions + 1, 0 = refused. Built at compile time,
// so a lookup is one array read and the table above stays the single source.
struct TransitionIndex {
    std::array<std::array<std::uint8_t, kEventCount + 1>, kStatusCount + 1> slot{};
};

constexpr TransitionIndex make_transition_index() {
    TransitionIndex index{};
    for (std::size_t i = 0; i < kTransitionCount; ++i) {
        const auto& t = kTransitions[i];
        auto& cell = index.slot[static_cast<std::size_t>(t.from)][static_cast<std::size_t>(t.event)];
        if (cell != 0) throw "duplicate (state, event) pair in kTransitions";
        cell = static_cast<std::uint8_t>(i + 1);
    }
    return index;
}

inline constexpr TransitionIndex kTransitionIndex = make_transition_index();
static_assert(kTransitionCount < 255);

// The line for (state, event), or nullptr when the pair is refused.
constexpr const Transition* find_transition(OrderStatus s, OrderEvent e) noexcept {
    const auto si = static_cast<std::size_t>(s);
    const auto ei = static_cast<std::size_t>(e);
    if (si > kStatusCount || ei > kEventCount) return nullptr;
    const auto slot = kTransitionIndex.slot[si][ei];
    return slot == 0 ? nullptr : &kTransitions[slot - 1];
}

constexpr bool is_terminal(OrderStatus s) noexcept {
    return s == OrderStatus::Filled || s == OrderStatus::Canceled ||
           s == OrderStatus::Rejected || s == OrderStatus::Expired;
}

const char* to_string(OrderStatus s) noexcept;
const char* to_string(OrderEvent e) noexcept;
const char* to_string(NextRule r) noexcept;

}  // namespace tickbridge::orders
