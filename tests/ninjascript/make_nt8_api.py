"""Writes tests/ninjascript/nt8_api.txt: every NinjaTrader type member and enum the strategy
uses (as the test host reads them from its compiled IL, ``api`` command), each with where
the real NinjaTrader 8 declares it: the line of the member list reflected from the NT8
assemblies (repository matdev83/ninjatrader-autodocs, generated-code/), or the help-guide
page (repository samuelcaldas/ninjatrader_docs, support/helpguides/nt8/) for members that
list does not carry (NinjaScriptBase, the script event methods, Account events, charts).

Run by hand when the strategy starts using a new member, with a local copy of the
reflected lists (the ``fetch`` of matdev83/ninjatrader-autodocs)::

    python -m tests.ninjascript.make_nt8_api /path/to/ninjatrader-autodocs

A member whose signature the reflected list contradicts is an error here, not a line.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from .conftest import Host, build_host

HERE = Path(__file__).resolve().parent
OUT = HERE / "nt8_api.txt"

# The stub's Strategy is NinjaTrader.NinjaScript.Strategies.Strategy, which derives from the
# reflected StrategyBase.
REFLECTED_TYPE = {
    "NinjaTrader.NinjaScript.Strategies.Strategy": "NinjaTrader.NinjaScript.StrategyBase",
}

# Members the reflected lists do not carry: the help-guide page that gives their signature.
HELP = "help guide "
NS = "NinjaTrader.NinjaScript."
GLOBALS = HELP + "globals (Globals.GeneralOptions.TimeZoneInfo)"
MANUAL: dict[str, str] = {
    NS + "Strategies.Strategy.ctor": HELP + "strategy.md (a strategy derives from Strategy)",
    "NinjaTrader.NinjaScript.NinjaScriptBase.Calculate": HELP + "calculate.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.Description": HELP + "description.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.Name": HELP + "name.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.State": HELP + "state.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.TickSize": HELP + "ticksize.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.Print": HELP + "print.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.Log": HELP + "log.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.SetState": HELP + "setstate.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.TriggerCustomEvent": HELP + "triggercustomevent.md",
    "NinjaTrader.NinjaScript.NinjaScriptBase.OnStateChange": HELP + "onstatechange.md",
    NS + "NinjaScriptBase.OnConnectionStatusUpdate": HELP + "onconnectionstatusupdate.md",
    "NinjaTrader.NinjaScript.Strategies.Strategy.OnExecutionUpdate": HELP + "onexecutionupdate.md",
    "NinjaTrader.NinjaScript.Strategies.Strategy.OnMarketData": HELP + "onmarketdata.md",
    "NinjaTrader.NinjaScript.Strategies.Strategy.OnMarketDepth": HELP + "onmarketdepth.md",
    "NinjaTrader.NinjaScript.Strategies.Strategy.OnOrderUpdate": HELP + "onorderupdate.md",
    "NinjaTrader.NinjaScript.Strategies.Strategy.OnPositionUpdate": HELP + "onpositionupdate.md",
    "NinjaTrader.NinjaScript.Strategies.Strategy.ChartControl": HELP + "chartcontrol.md",
    "NinjaTrader.NinjaScript.Strategies.Strategy.Instrument": HELP + "instrument.md",
    "NinjaTrader.Cbi.Account.AccountItemUpdate": HELP + "accountitemupdate.md",
    "NinjaTrader.Cbi.Account.OrderUpdate": HELP + "orderupdate.md",
    "NinjaTrader.Cbi.Account.ExecutionUpdate": HELP + "executionupdate.md",
    "NinjaTrader.Cbi.Account.PositionUpdate": HELP + "positionupdate.md",
    "NinjaTrader.Cbi.Account.Get": HELP + "get.md",
    "NinjaTrader.Cbi.Account.Cancel": HELP + "cancel.md",
    "NinjaTrader.Cbi.Account.Change": HELP + "change.md",
    "NinjaTrader.Gui.Chart.Chart.MainMenu": HELP + "chart.md (UI modification: Chart.MainMenu)",
    "NinjaTrader.Gui.Chart.ChartControl.Dispatcher":
        HELP + "multi-threading.md (ChartControl.Dispatcher)",
    "NinjaTrader.Core.Globals.GeneralOptions": GLOBALS,
    "NinjaTrader.Core.GeneralOptions.TimeZoneInfo": GLOBALS,
    NS + "DrawingTools.Draw.TextFixed": HELP + "draw_textfixed.md",
}

SHORT = {"Double": "double", "Int32": "int", "Int64": "long", "String": "string", "Boolean": "bool",
         "Object": "object", "Void": "void", "Single": "float", "Byte": "byte"}


def short(type_text: str) -> str:
    """A type as both sides can spell it: no namespaces, C# keywords for the primitives."""
    def name(match: re.Match[str]) -> str:
        last = match.group(0).split(".")[-1]
        return SHORT.get(last, last)
    return re.sub(r"[A-Za-z_][A-Za-z0-9_.]*", name, type_text.replace(" ", ""))


def reflected_line(root: Path, kind: str, owner: str, member: str, signature: str) -> str | None:
    owner = REFLECTED_TYPE.get(owner, owner)
    for folder in ("Core", "Client"):
        path = root / "generated-code" / folder / f"{owner}.cs"
        if path.exists():
            break
    else:
        return None
    text = path.read_text()
    if kind in ("property", "static property", "field", "static field"):
        wanted = short(signature.split(" : ")[1])
        for line in text.splitlines():
            m = re.match(rf"\s*public (?:static )?(.+?) {re.escape(member)} {{ get; set; }}", line)
            if m:
                if short(m.group(1)) != wanted:
                    raise SystemExit(
                        f"{owner}.{member}: reflected {line.strip()!r}, stub {signature!r}")
                return f"{path.relative_to(root)}: {line.strip()}"
        return None
    found = re.search(r"\((.*)\)", signature)
    if kind not in ("method", "static method") or found is None:
        return None          # events: the reflected lists carry none
    parameters = found.group(1)
    wanted = [short(p) for p in parameters.split(", ")] if parameters else []
    returns = short(signature.rsplit(" : ", 1)[1]) if " : " in signature else ""
    for line in text.splitlines():
        m = re.match(
            rf"\s*public (?:static |virtual |override )*(.+?) {re.escape(member)}\((.*)\)", line)
        if not m:
            continue
        got = [short(p.rsplit(" ", 1)[0]) for p in m.group(2).split(", ")] if m.group(2) else []
        if got == wanted and short(m.group(1)) == returns:
            return f"{path.relative_to(root)}: {line.strip()}"
    return None


def reflected_enum(root: Path, name: str) -> dict[str, int] | None:
    # Custom: NinjaTrader's own NinjaScript sources (drawing tools: TextPosition)
    for folder in ("Core", "Client", "Custom"):
        path = root / "generated-code" / folder / f"{name}.cs"
        if path.exists():
            break
    else:
        return None
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"(\w+) = (-?\d+)", path.read_text())}


def main(root: Path) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        host = Host(build_host(Path(tmp)), Path(tmp) / "host.log")
        try:
            api = host.command("api")
        finally:
            host.close()
    lines = ["# NinjaTrader 8 members the TickBridge strategy uses, as the stub must declare them.",
             "# Written by tests/ninjascript/make_nt8_api.py; checked by test_conformance.py.",
             "# <member as the test host describes it>\t<where NinjaTrader 8 declares it>"]
    missing = []
    for entry in api["members"]:
        if entry.startswith("type ") or "System.Windows." in entry.split(" : ")[0]:
            continue         # WPF is .NET's, not NinjaTrader's
        plain = entry.replace("override ", "")
        if plain.startswith("static "):
            kind, rest = "static " + plain.split(" ")[1], plain.split(" ", 2)[2]
        else:
            kind, rest = plain.split(" ", 1)
        qualified = re.split(r"[ (]", rest)[0]
        owner, member = qualified.rsplit(".", 1)
        where = reflected_line(root, kind, owner, member, rest)
        if where is None:
            where = MANUAL.get(qualified)
        if where is None:
            missing.append(entry)
            continue
        lines.append(f"{entry}\t{where}")
    for name in sorted(api["enums"]):
        reflected = reflected_enum(root, name)
        if reflected is None:
            missing.append(f"enum {name}")
            continue
        listed = ", ".join(f"{k}={v}" for k, v in sorted(reflected.items(), key=lambda kv: kv[1]))
        lines.append(f"enum {name} {{ {listed} }}\tgenerated-code: {name}.cs")
    if missing:
        print("no source for:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    OUT.write_text("\n".join(lines) + "\n")
    print(f"{OUT}: {len(lines) - 3} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
