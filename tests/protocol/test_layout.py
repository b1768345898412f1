"""The Python dtypes mirror the C++ structs byte for byte (protocol.hpp is the truth)."""

from __future__ import annotations

from tickbridge._core import protocol as cpp
from tickbridge.protocol import DTYPES, FRAME_HEADER, MAGIC, VERSION, RecordType


def _camel(t: RecordType) -> str:
    return "".join(p.capitalize() for p in t.name.split("_"))


def test_constants_match():
    assert (cpp.MAGIC, cpp.VERSION) == (MAGIC, VERSION)
    assert FRAME_HEADER.itemsize == 40


def test_every_record_layout_matches_cpp():
    layouts = cpp.layouts()
    assert set(layouts) == {_camel(t) for t in RecordType}
    for rtype, dtype in DTYPES.items():
        size, fields = layouts[_camel(rtype)]
        assert dtype.itemsize == size == cpp.record_length(int(rtype)), rtype
        for name, offset, nbytes in fields:
            field_dtype, field_offset = dtype.fields[name][:2]
            assert (field_offset, field_dtype.itemsize) == (offset, nbytes), (rtype, name)
        # no field of the C++ struct is missing from the dtype other than reserved padding
        named = {name for name, _, _ in fields}
        assert set(dtype.names) - named <= {"reserved"}, rtype


def test_record_type_codes_match_cpp_classes():
    for rtype in RecordType:
        assert int(rtype) == getattr(cpp, _camel(rtype)).TYPE
