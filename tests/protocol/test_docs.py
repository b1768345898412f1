"""docs/protocol.md's byte tables are checked against the compiled layouts, so the
documentation cannot drift from protocol.hpp."""

from __future__ import annotations

import re
from pathlib import Path

from tickbridge._core import protocol as cpp
from tickbridge.protocol import DTYPES, FRAME_HEADER, RecordType

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
HEADING = re.compile(r"^### (\w+) \(0x([0-9A-F]{4})\), (\d+) bytes", re.M)
ROW = re.compile(r"^\| (\d+) \| (\d+) \| [^|]+ \| (\w+) \|", re.M)


def _sections() -> dict[str, tuple[int, int, list[tuple[int, int, str]]]]:
    found = {}
    matches = list(HEADING.finditer(DOC))
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(DOC)
        rows = [(int(o), int(s), f) for o, s, f in ROW.findall(DOC[m.end():end])]
        found[m.group(1)] = (int(m.group(2), 16), int(m.group(3)), rows)
    return found


def test_every_record_is_documented_with_its_exact_layout():
    sections = _sections()
    layouts = cpp.layouts()
    assert len(sections) == len(RecordType)
    for rtype in RecordType:
        name = "".join(p.capitalize() for p in rtype.name.split("_"))
        code, size, rows = sections[name]
        assert code == int(rtype)
        cpp_size, cpp_fields = layouts[name]
        assert size == cpp_size
        documented = {f: (o, s) for o, s, f in rows}
        for field, offset, nbytes in cpp_fields:
            assert documented[field] == (offset, nbytes), (name, field)
        assert sum(s for _, s, _ in rows) == size, name


def test_frame_header_table_matches():
    table = DOC[DOC.index("## Frame"):DOC.index("Then `record_count`")]
    rows = [(int(o), int(s), f) for o, s, f in ROW.findall(table)]
    assert rows == [(FRAME_HEADER.fields[f][1], FRAME_HEADER.fields[f][0].itemsize, f)
                    for f in FRAME_HEADER.names]
    assert DTYPES[RecordType.TRADE].itemsize == 32
