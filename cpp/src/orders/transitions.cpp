#include "tickbridge/orders/transitions.hpp"

namespace tickbridge::orders {

const char* to_string(OrderStatus s) noexcept {
    switch (s) {
        case OrderStatus::NewRequested: return "NEW_REQUESTED";
        case OrderStatus::Submitted: return "SUBMITTED";
        case OrderStatus::Acknowledged: return "ACKNOWLEDGED";
        case OrderStatus::Working: return "WORKING";
        case OrderStatus::PartiallyFilled: return "PARTIALLY_FILLED";
        case OrderStatus::Filled: return "FILLED";
        case OrderStatus::PendingCancel: return "PENDING_CANCEL";
        case OrderStatus::PendingReplace: return "PENDING_REPLACE";
        case OrderStatus::Canceled: return "CANCELED";
        case OrderStatus::Rejected: return "REJECTED";
        case OrderStatus::Expired: return "EXPIRED";
    }
    return "UNKNOWN_STATUS";
}

const char* to_string(OrderEvent e) noexcept {
    switch (e) {
        case OrderEvent::SubmitSent: return "SUBMIT_SENT";
        case OrderEvent::SubmitAcked: return "SUBMIT_ACKED";
        case OrderEvent::Accepted: return "ACCEPTED";
        case OrderEvent::Fill: return "FILL";
        case OrderEvent::CancelSent: return "CANCEL_SENT";
        case OrderEvent::CancelAcked: return "CANCEL_ACKED";
        case OrderEvent::Canceled: return "CANCELED";
        case OrderEvent::CancelRejected: return "CANCEL_REJECTED";
        case OrderEvent::ReplaceSent: return "REPLACE_SENT";
        case OrderEvent::Replaced: return "REPLACED";
        case OrderEvent::ReplaceRejected: return "REPLACE_REJECTED";
        case OrderEvent::Rejected: return "REJECTED";
        case OrderEvent::Expired: return "EXPIRED";
    }
    return "UNKNOWN_EVENT";
}

const char* to_string(NextRule r) noexcept {
    switch (r) {
        case NextRule::Goto: return "GOTO";
        case NextRule::Stay: return "STAY";
        case NextRule::ByFills: return "BY_FILLS";
        case NextRule::StayUnlessComplete: return "STAY_UNLESS_COMPLETE";
        case NextRule::Resume: return "RESUME";
    }
    return "UNKNOWN_RULE";
}

}  // namespace tickbridge::orders
