"""``[copier]``: every error names its field; what is accepted is what docs/copier.md says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tickbridge.config import ConfigError, load_config

BASE = """\
mode = "paper"
[[accounts]]
name = "L1"
mode = "paper"
[[accounts]]
name = "F1"
mode = "paper"
[[instruments]]
symbol = "ES"
"""

GOOD = BASE + """
[copier]
leader = {account = "L1", platform = "sierra_chart"}
mode = "mirror_orders"
policy = "alert"
[[copier.followers]]
account = "F1"
sizing = {kind = "ratio", ratio = 0.5, rounding = "floor", max = 4}
direction = "opposite"
instruments = [{leader = "ES", follower = "MES", ratio = 10, contract = "front"}]
"""


def load(tmp_path: Path, text: str):
    path = tmp_path / "tickbridge.toml"
    path.write_text(text)
    return load_config(path)


def errors(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    return str(caught.value)


def test_a_full_copier_section_loads(tmp_path: Path) -> None:
    copier = load(tmp_path, GOOD).copier
    assert copier is not None and copier.leader.account == "L1"
    (follower,) = copier.followers
    assert follower.sizing.ratio == 0.5 and follower.sizing.rounding == "floor"
    assert follower.instruments[0].follower == "MES" and follower.direction == "opposite"
    assert copier.mode == "mirror_orders" and copier.policy == "alert"
    assert load(tmp_path, BASE).copier is None  # the section is optional


@pytest.mark.parametrize(("change", "field", "why"), [
    ('mode = "mirror_orders"', "copier.mode", "'mirror_orders' or 'copy_fills'"),
    ('policy = "alert"', "copier.policy", "'resync', 'alert' or 'halt'"),
    ('ratio = 0.5, rounding = "floor"', "copier.followers[0].sizing.rounding",
     "'half_away', 'floor' or 'ceil'"),
    ("max = 4", "copier.followers[0].sizing.max", "greater than or equal to 1"),
    ('follower = "MES"', "copier.followers[0].instruments[0].follower", "did you mean"),
    ('direction = "opposite"', "copier.followers[0].direction", "'same' or 'opposite'"),
])
def test_each_bad_value_is_named_by_its_field(tmp_path: Path, change: str, field: str,
                                              why: str) -> None:
    bad = {'mode = "mirror_orders"': 'mode = "mirror"',
           'policy = "alert"': 'policy = "ignore"',
           'ratio = 0.5, rounding = "floor"': 'ratio = 0.5, rounding = "nearest"',
           "max = 4": "max = 0",
           'follower = "MES"': 'follower = "MESS"',
           'direction = "opposite"': 'direction = "reverse"'}[change]
    text = errors(tmp_path, GOOD.replace(change, bad))
    line = next((x for x in text.splitlines() if field in x), "")
    assert why in line, text


def test_accounts_must_be_configured_and_distinct(tmp_path: Path) -> None:
    text = errors(tmp_path, GOOD.replace('account = "F1"', 'account = "F9"'))
    assert "copier.followers[0].account: 'F9' is not a configured account (L1, F1)" in text
    text = errors(tmp_path, GOOD.replace('account = "F1"', 'account = "L1"'))
    assert "followers[0].account: 'L1' is the leader" in text
    text = errors(tmp_path, GOOD.replace('{account = "L1"', '{account = "L7"'))
    assert "copier.leader.account: 'L7' is not a configured account" in text


def test_a_sizing_rule_takes_its_own_parameter(tmp_path: Path) -> None:
    text = errors(tmp_path, GOOD.replace('kind = "ratio", ratio = 0.5',
                                         'kind = "fixed", ratio = 0.5'))
    assert "copier.followers[0].sizing" in text and "kind 'fixed' takes quantity" in text
    text = errors(tmp_path, GOOD.replace("ratio = 0.5, ", "quantity = 2, "))
    assert "kind 'ratio' takes ratio" in text


def test_unknown_keys_and_a_root_mapped_twice_are_errors(tmp_path: Path) -> None:
    text = errors(tmp_path, GOOD.replace("enabled", "x").replace(
        'direction = "opposite"', 'direction = "opposite"\nenable = false'))
    assert "copier.followers[0].enable: Extra inputs are not permitted" in text
    twice = GOOD.replace('contract = "front"}]', 'contract = "front"}, '
                         '{leader = "ES", follower = "ES"}]')
    assert "[1].leader: 'ES' is mapped twice" in errors(tmp_path, twice)
    assert "not a contract root" in errors(tmp_path, GOOD.replace(
        'follower = "MES"', 'follower = "MESZ6"'))
