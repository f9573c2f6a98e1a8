"""The tunnel follows a WebSocket stream's frame boundaries (never its payloads), so that a close frame 1001 goes in
between two frames, never inside one, however the frames are split across reads."""

from __future__ import annotations

import itertools

from balancer.tunnel import FrameBoundaries


def frame(payload: bytes, *, masked: bool = False, opcode: int = 0x2) -> bytes:
    """One final frame, with the 7-bit, 16-bit or 64-bit length forms (masked: a client's frame)."""
    size = len(payload)
    if size < 126:
        length = bytes([size | (0x80 if masked else 0)])
    elif size < 65536:
        length = bytes([126 | (0x80 if masked else 0)]) + size.to_bytes(2, "big")
    else:
        length = bytes([127 | (0x80 if masked else 0)]) + size.to_bytes(8, "big")
    return bytes([0x80 | opcode]) + length + (b"\x01\x02\x03\x04" if masked else b"") + payload


FRAMES = [frame(b"hello"), frame(b"x" * 300), frame(b""), frame(b"y" * 70_000), frame(b"z" * 3, masked=True)]
STREAM = b"".join(FRAMES)
BOUNDARIES = list(itertools.accumulate(len(f) for f in FRAMES))


def test_every_split_of_the_stream_stops_exactly_at_each_frame_end() -> None:
    for cut in (1, 2, 3, 7, 128, 4096, len(STREAM)):
        frames, stops = FrameBoundaries(), []
        for start in range(0, len(STREAM), cut):
            piece, offset = STREAM[start : start + cut], 0
            while (offset := offset + frames.advance(piece[offset:], stop=True)) < len(piece):
                stops.append(start + offset)  # between two frames: a close frame would go in here
                offset += frames.advance(piece[offset : offset + 1])  # the next frame's first byte
        assert stops == [0, *BOUNDARIES[:-1]], (cut, stops)  # every frame end, and never anywhere else
        assert frames.between_frames


def test_a_stream_read_whole_ends_between_frames_and_a_partial_header_does_not() -> None:
    frames = FrameBoundaries()
    assert frames.advance(STREAM) == len(STREAM) and frames.between_frames
    frames.advance(frame(b"abc")[:1])
    assert not frames.between_frames
    frames.advance(frame(b"abc")[1:])
    assert frames.between_frames


def test_stop_takes_nothing_when_already_between_frames() -> None:
    frames = FrameBoundaries()
    frames.advance(FRAMES[0])
    assert frames.advance(FRAMES[1], stop=True) == 0
    frames.advance(FRAMES[1][:10])
    assert frames.advance(FRAMES[1][10:] + FRAMES[2], stop=True) == len(FRAMES[1]) - 10
