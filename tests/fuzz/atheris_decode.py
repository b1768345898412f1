"""atheris target: the Python and C++ decoders on fuzzer-made bytes. Either both decode
the same record types, or both raise ProtocolError with the same code and offset; any
other exception is a bug. Run: python tests/fuzz/atheris_decode.py -max_total_time=20 CORPUS"""

import sys

import atheris

with atheris.instrument_imports():
    from tickbridge._core import protocol as cpp
    from tickbridge.protocol import ProtocolError, decode_frame


def test_one_input(data: bytes) -> None:
    try:
        frame = decode_frame(data)
        py_result = ("ok", [int(t) for t, _ in frame])
    except ProtocolError as e:
        py_result = ("error", int(e.code), e.offset)
    try:
        _, records = cpp.decode_frame(data)
        cpp_result = ("ok", [type(r).TYPE for r in records])
    except ProtocolError as e:
        cpp_result = ("error", int(e.code), e.offset)
    if py_result != cpp_result:
        raise AssertionError(f"decoders disagree: python {py_result} c++ {cpp_result}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
