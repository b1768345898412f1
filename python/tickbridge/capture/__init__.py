"""Capture of raw wire frames (direction, peer, time) for replay and diagnosis; see the
format table in ``capture/format.py``."""

from tickbridge.capture.format import CaptureError, Direction
from tickbridge.capture.reader import CapturedFrame, CaptureReader, read_capture
from tickbridge.capture.recorder import FrameRecorder

__all__ = [
    "CaptureError",
    "CaptureReader",
    "CapturedFrame",
    "Direction",
    "FrameRecorder",
    "read_capture",
]
