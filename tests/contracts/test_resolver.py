"""Roll dates and year ends for every listed root, symbol formats in and out, errors."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tickbridge.contracts import FORMATS, SymbolError, load_specs, resolve
from tickbridge.contracts.calendar import holidays, is_business_day

SPECS = load_specs()
D = date

# root: (last day on the old contract, old, first day on the new, new, old expiry)
ROLLS = {
    "ES": (D(2026, 12, 9), "ESZ26", D(2026, 12, 10), "ESH27", D(2026, 12, 18)),
    "MES": (D(2026, 12, 9), "MESZ26", D(2026, 12, 10), "MESH27", D(2026, 12, 18)),
    "NQ": (D(2026, 12, 9), "NQZ26", D(2026, 12, 10), "NQH27", D(2026, 12, 18)),
    "MNQ": (D(2026, 12, 9), "MNQZ26", D(2026, 12, 10), "MNQH27", D(2026, 12, 18)),
    "RTY": (D(2026, 12, 9), "RTYZ26", D(2026, 12, 10), "RTYH27", D(2026, 12, 18)),
    "YM": (D(2026, 12, 9), "YMZ26", D(2026, 12, 10), "YMH27", D(2026, 12, 18)),
    # CL: Dec 25 2026 is a holiday, so 4 business days before it: Mon Dec 21
    "CL": (D(2026, 12, 11), "CLF27", D(2026, 12, 14), "CLG27", D(2026, 12, 21)),
    # metals and Treasuries roll before first notice (Mon Nov 30; Thanksgiving skipped)
    "GC": (D(2026, 11, 24), "GCZ26", D(2026, 11, 25), "GCG27", D(2026, 12, 29)),
    "SI": (D(2026, 11, 24), "SIZ26", D(2026, 11, 25), "SIH27", D(2026, 12, 29)),
    "ZN": (D(2026, 11, 24), "ZNZ26", D(2026, 11, 25), "ZNH27", D(2026, 12, 21)),
    "ZB": (D(2026, 11, 24), "ZBZ26", D(2026, 11, 25), "ZBH27", D(2026, 12, 21)),
    # 6E expires Mon Dec 14 (2 business days before the third Wednesday)
    "6E": (D(2026, 12, 4), "6EZ26", D(2026, 12, 7), "6EH27", D(2026, 12, 14)),
}


def test_table_has_every_required_root():
    assert set(ROLLS) <= set(SPECS)


@pytest.mark.parametrize("root", sorted(ROLLS))
def test_roll_into_the_next_year(root):
    before, old, after, new, old_expiry = ROLLS[root]
    c = resolve(root, on=before)
    assert c.code == old and c.expiry == old_expiry
    assert resolve(root, on=after).code == new
    assert f"{old} rolled on {after}" in resolve(root, on=after).reason
    # the next contract is the 2nd of the continuous series before the roll
    assert resolve(f"{root}2!", on=before).code == new
    # year end: Dec 31 and Jan 1 agree on the front
    assert resolve(root, on=D(2026, 12, 31)).code == resolve(root, on=D(2027, 1, 1)).code


def test_example_reason_from_the_issue():
    c = resolve("ES", on=D(2026, 12, 14))
    assert c.reason == ("ES on 2026-12-14 -> ESH27: ESZ26 rolled on 2026-12-10 "
                        "(8 days before its 2026-12-18 expiry)")


@pytest.mark.parametrize("root", sorted(ROLLS))
def test_front_walks_every_listed_month_over_three_years(root):
    spec = SPECS[root]
    seen, day = [], D(2026, 1, 1)
    while day < D(2029, 1, 1):
        c = resolve(root, on=day)
        assert c.roll_date > day and c.roll_date <= c.expiry
        assert is_business_day(c.expiry) and is_business_day(c.roll_date)
        if not seen or seen[-1] != c.code:
            seen.append(c.code)
        day += timedelta(days=1)
    months = [code[len(root)] for code in seen]
    # every listed month appears, in order, wrapping over the year ends
    cycle = spec.months
    start = cycle.index(months[0])
    assert months == [cycle[(start + i) % len(cycle)] for i in range(len(months))]
    assert len(seen) >= 3 * len(cycle)


def test_cl_is_monthly_and_zn_quarterly():
    assert [resolve("CL", on=D(2027, m, 1)).code for m in (1, 2, 3)] == \
        ["CLG27", "CLH27", "CLJ27"]
    assert [resolve("ZN", on=D(2027, m, 15)).code for m in (1, 4, 7, 10)] == \
        ["ZNH27", "ZNM27", "ZNU27", "ZNZ27"]


@pytest.mark.parametrize("text", ["ESZ6", "ESZ26", "ESZ2026", "ES 12-26", "ESZ26-CME",
                                  "CME_MINI:ESZ2026", "esz6"])
def test_formats_in(text):
    assert resolve(text, on=D(2026, 11, 24)).code == "ESZ26"


@pytest.mark.parametrize("root", sorted(ROLLS))
@pytest.mark.parametrize("to", FORMATS)
def test_formats_round_trip(root, to):
    c = resolve(root, on=D(2026, 12, 31))
    again = resolve(c.format(to), on=D(2026, 12, 31))
    assert (again.root, again.year, again.month) == (c.root, c.year, c.month)


def test_formats_out():
    c = resolve("ES", on=D(2026, 11, 24))
    assert [c.format(t) for t in ("exchange", "exchange2", "ninjatrader", "sierra",
                                  "tradingview")] == \
        ["ESZ6", "ESZ26", "ES 12-26", "ESZ26-CME", "CME_MINI:ESZ2026"]
    assert resolve("CME_MINI:ES1!", on=D(2026, 11, 24)).code == "ESZ26"
    assert resolve("MNQZ2026").code == "MNQZ26"


@pytest.mark.parametrize("text, fragment, suggestion", [
    ("EZ", "not a symbol format", "ES"),
    ("NQQ", "not a symbol format", None),
    ("ESF7", "ES lists the months H, M, U, Z only", "ESH27"),
    ("XYZ1!", "unknown root 'XYZ'", None),
    ("MNX1!", "unknown root 'MNX'", "MNQ"),
    ("NYMEX:ES1!", "ES trades on CME_MINI, not NYMEX", "CME_MINI:ES1!"),
    ("ESZ26-NYMEX", "ES trades on CME, not NYMEX", "ESZ26-CME"),
])
def test_unknown_symbols_raise_with_suggestions(text, fragment, suggestion):
    with pytest.raises(SymbolError) as info:
        resolve(text, on=D(2026, 12, 1))
    assert fragment in str(info.value)
    if suggestion:
        assert suggestion in info.value.suggestions


def test_user_file_overrides_and_extends(tmp_path):
    user = tmp_path / "contracts.toml"
    user.write_text('[ES]\nroll_days = 6\n[M2K]\nname = "Micro Russell"\nexchange = "CME"\n'
                    'group = "equity_index"\ntick_size = 0.1\npoint_value = 5.0\n'
                    'months = "HMUZ"\nexpiry = "third_friday"\n'
                    'roll = "calendar_days_before_expiry"\nroll_days = 8\n'
                    'tradingview = "CME_MINI"\nsierra_exchange = "CME"\n')
    specs = load_specs(user)
    assert specs["ES"].roll_days == 6 and specs["ES"].tick_size == 0.25
    assert resolve("ES", on=D(2026, 12, 10), specs=specs).code == "ESZ26"  # default: H27
    assert resolve("M2KZ6", on=D(2026, 12, 1), specs=specs).point_value == 5.0


def test_bad_user_file_lists_every_error(tmp_path):
    user = tmp_path / "contracts.toml"
    user.write_text('[ES]\ntick_size = -1\nmonths = "HMX1"\nexpiry = "whenever"\n')
    with pytest.raises(ValueError) as info:
        load_specs(user)
    text = str(info.value)
    assert "ES.tick_size" in text and "ES.months" in text and "ES.expiry" in text


def test_business_day_calendar():
    h = holidays(2026)
    assert D(2026, 11, 26) in h and D(2026, 12, 25) in h and D(2026, 4, 3) in h
    assert D(2026, 7, 3) in h            # July 4 2026 is a Saturday: observed Friday
    assert not is_business_day(D(2027, 1, 1))
