"""WebSocket frames built once and written to many connections."""

from __future__ import annotations


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked WebSocket text frame (RFC 6455), as a server sends it."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload
