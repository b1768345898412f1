"""Golden vectors: every .bin decodes to the manifest's values and re-encodes to the same
bytes, in the Python codec and in the C++ codec (the C# codec has its own test)."""

from __future__ import annotations

import numpy as np
import pytest

from tickbridge._core import protocol as cpp
from tickbridge.protocol import (
    DTYPES,
    RecordType,
    decode_frame,
    encode_frame,
    encode_packed,
    make_record,
    pack_record,
)

from .conftest import VECTORS, load_manifest


def _type(name: str) -> RecordType:
    snake = "".join("_" + c if c.isupper() else c for c in name).lstrip("_").upper()
    return RecordType[snake]


def _as_python(value):
    return value.decode() if isinstance(value, bytes) else value


def test_every_record_type_has_a_vector():
    covered = {_type(r["type"]) for v in load_manifest() for r in v["records"]}
    assert covered == set(RecordType)


def test_python_decodes_vector(vector):
    meta, data = vector
    frame = decode_frame(data)
    assert frame.header.session_id == meta["session_id"]
    assert frame.header.sequence == meta["sequence"]
    assert frame.header.send_time_ns == meta["send_time_ns"]
    assert frame.header.record_count == len(meta["records"])
    decoded = list(frame)
    assert len(decoded) == len(meta["records"])
    for (rtype, record), expected in zip(decoded, meta["records"], strict=True):
        assert rtype == _type(expected["type"])
        assert record["length"] == DTYPES[rtype].itemsize
        for name, value in expected.items():
            if name != "type":
                assert _as_python(record[name].item()) == value, name


def test_python_reencodes_vector(vector):
    meta, data = vector
    records = [
        make_record(_type(r["type"]), **{k: v for k, v in r.items() if k != "type"})
        for r in meta["records"]
    ]
    again = encode_frame(records, session_id=meta["session_id"], sequence=meta["sequence"],
                         send_time_ns=meta["send_time_ns"])
    assert again == data
    # and the decoded views re-encode unchanged
    frame = decode_frame(data)
    assert encode_frame([r.records for r in frame.runs], session_id=meta["session_id"],
                        sequence=meta["sequence"], send_time_ns=meta["send_time_ns"]) == data


def test_struct_packer_matches_vector(vector):
    meta, data = vector
    records = [pack_record(_type(r["type"]), **{k: v for k, v in r.items() if k != "type"})
               for r in meta["records"]]
    assert encode_packed(records, session_id=meta["session_id"], sequence=meta["sequence"],
                         send_time_ns=meta["send_time_ns"]) == data


def test_struct_packer_refuses_what_make_record_refuses():
    with pytest.raises(ValueError, match=r"Fill\.execution_id: 49 bytes do not fit in 48"):
        pack_record(RecordType.FILL, execution_id="x" * 49)
    with pytest.raises(ValueError, match="Cancel has no field 'price'"):
        pack_record(RecordType.CANCEL, price=1.0)


def test_cpp_decodes_and_reencodes_vector(vector):
    meta, data = vector
    header, records = cpp.decode_frame(data)
    assert (header.session_id, header.sequence, header.send_time_ns) == (
        meta["session_id"], meta["sequence"], meta["send_time_ns"])
    assert header.record_count == len(records) == len(meta["records"])
    writer = cpp.FrameWriter(header.session_id)
    writer.begin(header.sequence, header.send_time_ns)
    for record, expected in zip(records, meta["records"], strict=True):
        assert type(record).__name__ == expected["type"]
        for name, value in expected.items():
            if name != "type":
                assert _as_python(getattr(record, name)) == value, name
        writer.add(record)
    assert writer.finish() == data


def test_tick_batch_is_zero_copy_numpy():
    data = bytearray((VECTORS / "tick_batch.bin").read_bytes())
    frame = decode_frame(data)
    assert [(r.type, len(r.records)) for r in frame.runs] == [
        (RecordType.TRADE, 5), (RecordType.QUOTE, 1), (RecordType.TRADE, 1)]
    trades = frame.runs[0].records
    np.testing.assert_array_equal(trades["size"], [1, 2, 3, 4, 5])
    assert trades["price"][0] == 6012.75
    # A view, not a copy: a change to the frame's bytes shows through the array.
    price_offset = 40 + DTYPES[RecordType.TRADE].fields["price"][1]
    data[price_offset : price_offset + 8] = np.float64(1234.5).tobytes()
    assert trades["price"][0] == 1234.5
