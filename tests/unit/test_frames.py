"""The WebSocket frames the price fan-out writes itself (RFC 6455, server to client)."""

import pytest

from handlers.frames import text_frame


@pytest.mark.parametrize(("size", "header"), [(0, 2), (125, 2), (126, 4), (65535, 4),
                                              (65536, 10)])
def test_frame_headers_use_the_shortest_length_form(size, header):
    frame = text_frame(b"x" * size)
    assert frame[0] == 0x81  # FIN, text
    assert len(frame) == header + size
    assert not frame[1] & 0x80  # servers do not mask
