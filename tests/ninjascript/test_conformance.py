"""The stub against NinjaTrader 8's real API: every NinjaTrader type member the strategy
uses (read by the test host from the compiled IL: calls, property and field references,
events, overridden event methods) must be listed in nt8_api.txt with the signature the
reflected NT8 member lists (or, for members they do not carry, the help guide) give it;
and every enum it touches must carry NinjaTrader's own names and values. A name the real
platform lacks, or a stub member with another signature, fails here.
(make_nt8_api.py rebuilds the list from the reflected lists when the strategy starts
using a new member.)"""

from __future__ import annotations

import re
from pathlib import Path

LIST = Path(__file__).resolve().parent / "nt8_api.txt"


def listed() -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    members: dict[str, str] = {}
    enums: dict[str, dict[str, int]] = {}
    for line in LIST.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        entry, source = line.split("\t")
        enum = re.fullmatch(r"enum (\S+) \{ (.*) \}", entry)
        if enum:
            enums[enum.group(1)] = {k: int(v) for k, v in
                                    (pair.split("=") for pair in enum.group(2).split(", "))}
        else:
            members[entry] = source
    return members, enums


def platform_members(api: dict) -> set[str]:
    # WPF (System.Windows) is .NET's, not NinjaTrader's; types are checked through members
    return {m for m in api["members"]
            if not m.startswith("type ") and "System.Windows." not in m.split(" : ")[0]}


def test_every_member_the_strategy_uses_is_nt8s(make_host):
    api = make_host().command("api")
    members, _ = listed()
    used = platform_members(api)
    unknown = sorted(used - members.keys())
    assert not unknown, "not in NT8's member list (nt8_api.txt):\n  " + "\n  ".join(unknown)
    stale = sorted(members.keys() - used)
    assert not stale, "listed but no longer used (run make_nt8_api.py):\n  " + "\n  ".join(stale)
    assert all(source for source in members.values())


def test_every_enum_the_strategy_touches_has_nt8s_values(make_host):
    api = make_host().command("api")
    _, enums = listed()
    wrong = []
    for name, values in api["enums"].items():
        real = enums.get(name)
        if real is None:
            wrong.append(f"{name}: not listed")
            continue
        wrong += [f"{name}.{k} = {v}, NinjaTrader has {real.get(k)}"
                  for k, v in values.items() if real.get(k) != v]
    assert not wrong, "\n".join(wrong)
