"""Build-level checks of the ACSIL study: the generated header is current, the C++ codec
round-trips the golden vectors, the harness is clean under ThreadSanitizer and under
AddressSanitizer + UndefinedBehaviorSanitizer, and the study builds into a Windows DLL."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acsil.conftest import free_port
from tests.acsil.peer import EnginePeer
from tests.acsil.test_study import (
    answered,
    connect,
    kill_answer,
    kill_in_background,
    order_id_of,
    pump_until,
    submit,
)
from tests.acsil.toolchain import (
    ACSIL,
    BUILD,
    HEADER_CODE_WARNINGS_OFF,
    ROOT,
    STUDY_WARNINGS,
    Harness,
    acsil_headers,
    build_codec_vectors,
    build_harness,
    build_shim_unit,
    build_with_cmake,
    require,
    run,
    stage_acs_source,
)


def test_generated_header_is_current():
    result = subprocess.run([sys.executable, str(ACSIL / "amalgamate.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def test_cpp_codec_round_trips_every_golden_vector():
    binary = build_codec_vectors()
    result = subprocess.run([str(binary), str(ROOT / "tests" / "vectors")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    seen = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()}
    manifest = json.loads((ROOT / "tests" / "vectors" / "manifest.json").read_text())
    assert len(seen) == len(manifest)
    for entry in manifest:
        status, *names = seen[entry["file"]]
        assert status == "OK"
        assert names == [record["type"] for record in entry["records"]], entry["file"]


@pytest.mark.parametrize("flavor", ["release", "tsan"])
def test_shim_library_unit_checks(flavor):
    binary = build_shim_unit(flavor)
    env = dict(os.environ)
    env["TSAN_OPTIONS"] = (f"halt_on_error=1 exitcode=66 "
                           f"suppressions={Path(__file__).parent / 'tsan.supp'}")
    items = "2000000" if flavor == "release" else "200000"
    result = subprocess.run([str(binary), items], capture_output=True, text=True, env=env,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 5
    assert "ThreadSanitizer" not in result.stderr, result.stderr


def scenario(harness: Harness, peer: EnginePeer) -> None:
    """Every thread-crossing path once: records out, commands in, engine restart, engine
    silence, kill endpoint, link restart on changed inputs, last call."""
    kill = f"tcp://127.0.0.1:{free_port()}"
    connect(harness, peer, kill=kill)
    assert "tickbridge-shim" in harness.thread_names()
    for step in range(20):
        harness("ts 200")
        harness("call")
        if step % 5 == 0:
            submit(peer, step + 1, 300 + step, quantity=2)
            pump_until(harness, answered(peer, step + 1), timeout=20)
            harness(f"fill {order_id_of(harness, 300 + step)} 1 4000.25")
    peer.restart(down_for=0.2)
    harness("pump 300")
    kill_answer(harness, kill_in_background(kill, b"s3cret"))  # answered once it has run
    peer.pause()
    harness("pump 500")
    peer.resume()
    harness("pump 200")
    harness("input 4 int 150")
    harness("pump 100")
    harness("last")
    left = harness.threads_left()  # TSan keeps a background thread of its own
    assert "tickbridge-shim" not in left and not [n for n in left if n.startswith("ZMQbg")]


@pytest.mark.parametrize("flavor", ["tsan", "asan"])
def test_harness_is_clean_under_sanitizers(flavor):
    binary = build_harness(flavor)
    env = dict(os.environ)
    suppressions = Path(__file__).parent / "tsan.supp"  # libzmq itself is not instrumented
    env["TSAN_OPTIONS"] = (f"halt_on_error=1 exitcode=66 second_deadlock_stack=1 "
                           f"suppressions={suppressions}")
    env["ASAN_OPTIONS"] = "halt_on_error=1 exitcode=67 detect_leaks=1"
    env["UBSAN_OPTIONS"] = "halt_on_error=1 print_stacktrace=1"
    peer = EnginePeer(heartbeat_interval=0.05).start()
    harness = Harness(binary, env=env)
    try:
        scenario(harness, peer)
    finally:
        rc, err = harness.close()
        peer.stop()
    assert rc == 0, err
    for marker in ("ThreadSanitizer", "AddressSanitizer", "LeakSanitizer", "runtime error"):
        assert marker not in err, err


def test_cmake_build_links_the_shim_library_and_runs():
    binary = build_with_cmake()
    peer = EnginePeer(heartbeat_interval=0.05).start()
    harness = Harness(binary)
    try:
        scenario(harness, peer)
    finally:
        rc, err = harness.close()
        peer.stop()
    assert rc == 0, err


def test_study_builds_into_a_windows_dll():
    """MinGW-w64 (posix threads) compiles the study exactly as Sierra Chart's folder holds it
    and links a DLL. libzmq for Windows is not available here: the link resolves the zmq_*
    functions against an import library made from their names (libzmq.dll), which proves
    the study and the shim compile and link for Windows; it does not run the DLL."""
    headers = acsil_headers()
    compiler = require("x86_64-w64-mingw32-g++-posix")
    dlltool = require("x86_64-w64-mingw32-dlltool")
    objdump = require("x86_64-w64-mingw32-objdump")
    folder = stage_acs_source()
    out = BUILD / "mingw"
    include = out / "include"
    include.mkdir(parents=True, exist_ok=True)
    shutil.copy2("/usr/include/zmq.h", include / "zmq.h")  # Debian's libzmq3-dev header
    used = sorted({word for word in (ACSIL / "TickBridgeShim.h").read_text().replace("(", " ")
                   .split() if word.startswith("zmq_") and word.isidentifier()})
    (out / "libzmq.def").write_text("LIBRARY libzmq.dll\nEXPORTS\n" + "\n".join(used) + "\n")
    run([dlltool, "-d", str(out / "libzmq.def"), "-l", str(out / "libzmq.dll.a"),
         "-D", "libzmq.dll"])
    dll = out / "TickBridge_64.dll"
    # C++17, as Sierra Chart's build script passes; MinGW's own <windows.h>; Sierra Chart's
    # headers as system headers (their warnings are theirs), the project's code -Werror.
    assert "-std=c++17" in STUDY_WARNINGS
    run([compiler, *STUDY_WARNINGS, "-O2", "-shared", f"-I{include}", "-isystem", str(headers),
         *HEADER_CODE_WARNINGS_OFF,
         str(folder / "TickBridgeStudy.cpp"), "-o", str(dll), str(out / "libzmq.dll.a"),
         "-static-libgcc", "-static-libstdc++", "-Wl,-Bstatic", "-lpthread", "-Wl,-Bdynamic",
         "-lws2_32"])
    dump = run([objdump, "-p", str(dll)]).stdout
    for export in ("scsf_TickBridge", "scdll_DLLVersion", "scdll_DLLName"):
        assert export in dump, f"{export} not exported"
    assert "libzmq.dll" in dump
    assert "pe32+" in run([objdump, "-f", str(dll)]).stdout.lower() or "x86-64" in dump


def test_the_study_needs_only_the_two_files_the_readme_names():
    readme = (ACSIL / "README.md").read_text()
    assert "TickBridgeStudy.cpp" in readme and "TickBridgeShim.h" in readme
    assert sorted(p.name for p in stage_acs_source().iterdir()) == [
        "TickBridgeShim.h", "TickBridgeStudy.cpp"]


def test_no_imitation_of_sierra_charts_headers_in_the_project():
    """The study is tested against Sierra Chart's own headers only: no stub, no copy."""
    names = {"sierrachart.h", "scstructures.h", "scconstants.h", "SCString.h", "scdatetime.h"}
    found = [str(path.relative_to(ROOT)) for path in ROOT.rglob("*.h")
             if path.name in names and "build" not in path.relative_to(ROOT).parts
             and ".venv" not in path.relative_to(ROOT).parts]
    assert found == []
