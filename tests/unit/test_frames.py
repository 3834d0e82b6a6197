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


def test_a_queued_packet_counts_the_bytes_it_is_sent_as():
    """The backlog's byte limit (SLOW_CLIENT_BYTES) counts what waits in a socket's queue:
    an event's JSON is written in UTF-8 now (handlers/wire_json.py), so a packet of
    non-ASCII text is more bytes on the wire than characters in its string."""
    import engineio.packet
    import socketio

    from handlers.frames import PendingQueue
    from handlers.socket_server import WirePacket

    data = ["alert_triggered", {"alert": {"note": "東京 " * 1000 + "🚀"}}]
    packet = engineio.packet.Packet(engineio.packet.MESSAGE, WirePacket(
        socketio.packet.EVENT, namespace="/", data=data).encode())
    queue = PendingQueue()
    queue.put_nowait(packet)
    assert queue.bytes == len(packet.encode().encode())
