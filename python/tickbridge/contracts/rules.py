"""Expiry (last trading day), first notice and roll dates of one contract month."""

from __future__ import annotations

from datetime import date, timedelta

from tickbridge.contracts.calendar import (
    add_business_days,
    is_business_day,
    last_business_day,
    nth_weekday,
)
from tickbridge.contracts.specs import ContractSpec


def _prior_month(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def expiry(spec: ContractSpec, year: int, month: int) -> date:
    """Last trading day of ``spec`` for the contract month (year, month)."""
    rule = spec.expiry
    if rule == "third_friday":
        # Equity index: trading terminates on the third Friday of the contract month.
        day = nth_weekday(year, month, 4, 3)
        return day if is_business_day(day) else add_business_days(day, -1)
    if rule == "cl_25th":
        # NYMEX CL: 3 business days before the 25th of the month before the contract
        # month; 4 business days before it when the 25th is not a business day.
        py, pm = _prior_month(year, month)
        the_25th = date(py, pm, 25)
        return add_business_days(the_25th, -3 if is_business_day(the_25th) else -4)
    if rule == "third_last_business_day":
        # COMEX GC, SI: the third last business day of the contract month.
        return add_business_days(last_business_day(year, month), -2)
    if rule == "business_days_before_last_business_day":
        # CBOT ZN, ZB: the 7th business day preceding the last business day of the month.
        return add_business_days(last_business_day(year, month), -spec.expiry_days)
    if rule == "business_days_before_third_wednesday":
        # CME FX (6E): the 2nd business day before the third Wednesday of the month.
        return add_business_days(nth_weekday(year, month, 2, 3), -spec.expiry_days)
    raise ValueError(f"{spec.root}: unknown expiry rule {rule!r}")


def first_notice(year: int, month: int) -> date:
    """First notice day of physically delivered COMEX metals and CBOT Treasuries: the last
    business day of the month before the contract month."""
    return last_business_day(*_prior_month(year, month))


def roll_date(spec: ContractSpec, year: int, month: int) -> tuple[date, str]:
    """The day the front moves to the next contract, and the rule in words."""
    exp = expiry(spec, year, month)
    n = spec.roll_days
    if spec.roll == "calendar_days_before_expiry":
        day = exp - timedelta(days=n)
        while not is_business_day(day):
            day -= timedelta(days=1)
        return day, f"{n} days before its {exp} expiry"
    if spec.roll == "business_days_before_expiry":
        return add_business_days(exp, -n), f"{n} business days before its {exp} expiry"
    if spec.roll == "business_days_before_first_notice":
        fnd = first_notice(year, month)
        return (add_business_days(fnd, -n),
                f"{n} business days before its {fnd} first notice day ({exp} expiry)")
    raise ValueError(f"{spec.root}: unknown roll rule {spec.roll!r}")
