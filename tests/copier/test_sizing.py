"""The copier's sizing, pure: rounding rules, caps, direction, instrument maps."""

from __future__ import annotations

import pytest

from tickbridge.config.copier import FollowerConfig
from tickbridge.engine.copier_sizing import Mapped, follower_symbol, rounded, sized


def follower(**sizing) -> FollowerConfig:
    extra = {k: sizing.pop(k) for k in ("direction", "instruments") if k in sizing}
    return FollowerConfig.model_validate({"account": "F1", "sizing": sizing, **extra})


@pytest.mark.parametrize(("value", "rule", "expected"), [
    (1.5, "half_away", 2), (2.5, "half_away", 3), (0.5, "half_away", 1),
    (1.49, "half_away", 1), (1.9, "floor", 1), (1.1, "ceil", 2), (3.0, "ceil", 3),
    # 0.1 x 30 is 3.0000000000000004 in binary floating point: still 3 contracts.
    (0.1 * 30, "ceil", 3), (0.7 * 10, "floor", 7),
])
def test_rounding_rules(value: float, rule: str, expected: int) -> None:
    assert rounded(value, rule) == expected  # type: ignore[arg-type]


def test_ratio_is_applied_to_the_position_and_rounds_symmetrically() -> None:
    half = follower(kind="ratio", ratio=0.5, max=100)
    assert [sized(q, half) for q in (1, 2, 3, -3, 0)] == [1, 1, 2, -2, 0]
    floor = follower(kind="ratio", ratio=0.5, rounding="floor", max=100)
    assert [sized(q, floor) for q in (1, 3, -3)] == [0, 1, -1]


def test_fixed_holds_its_quantity_in_the_leaders_direction_capped_by_max() -> None:
    fixed = follower(kind="fixed", quantity=2, max=100)
    assert [sized(q, fixed) for q in (1, 7, -4, 0)] == [2, 2, -2, 0]
    capped = follower(kind="ratio", ratio=3, max=10)
    assert sized(5, capped) == 10 and sized(-5, capped) == -10


def test_opposite_direction_and_the_map_ratio() -> None:
    opposite = follower(kind="ratio", ratio=1, max=1000, direction="opposite",
                        instruments=[{"leader": "ES", "follower": "MES", "ratio": 10}])
    assert sized(3, opposite, 10) == -30 and sized(-1, opposite, 10) == 10


def test_follower_symbols_by_map_and_contract_month() -> None:
    same = follower(kind="ratio", ratio=1, max=10)
    assert follower_symbol("ESZ6", same, ["NQZ6", "ESH7", "ESZ6"]) == Mapped("ESZ6", 1.0)
    micro = follower(kind="ratio", ratio=1, max=100,
                     instruments=[{"leader": "ES", "follower": "MES", "ratio": 10}])
    assert follower_symbol("ESZ6", micro, ["ESZ6", "MESZ6"]) == Mapped("MESZ6", 10.0)
    missing = follower_symbol("ESH7", micro, ["MESZ6"])
    assert isinstance(missing, str) and "F1 trades no MES contract for ESH27" in missing
    assert "not a contract" in str(follower_symbol("XYZ", micro, ["MESZ6"]))
