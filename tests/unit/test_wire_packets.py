"""Socket packets read by handlers/wire_json.py, and the backlog each socket keeps."""

from __future__ import annotations

import asyncio

import engineio.packet
import pytest
import socketio.packet

from handlers.frames import Backlog, PendingQueue
from handlers.plain_ws import leading_id
from handlers.socket_server import Refused, WirePacket

DEEP = "[" * 50_000


@pytest.mark.parametrize(("text", "ack_id", "name"), [
    ('2["place_order",{"quantity":NaN}]', None, "place_order"),
    ('27["place_order",{"note":"x\\ud800"}]', 7, "place_order"),
    ('2/admin,12["exit_all",' + DEEP, 12, "exit_all"),
    ("23" + DEEP, 3, ""),
    ('2["who\\ud800",{}]', None, ""),  # a name that is not text is no name
    ('2[ "get_account" ,' + "[" * 40 + "]" * 40 + "]", None, "get_account"),
])
def test_a_refused_event_keeps_its_id_and_what_can_be_read_of_its_name(text, ack_id, name):
    packet = WirePacket(encoded_packet=text)
    assert (packet.packet_type, packet.id, packet.data[0]) == (socketio.packet.EVENT, ack_id,
                                                               name)
    assert isinstance(packet.data[1], Refused)
    assert packet.data[1].error.code == "invalid_json"


def test_a_refused_binary_event_still_expects_its_attachments():
    packet = WirePacket(encoded_packet='52-4["place_order",{"a":NaN},{"_placeholder":true}]')
    assert (packet.packet_type, packet.attachment_count, packet.id) == (
        socketio.packet.BINARY_EVENT, 2, 4)
    assert isinstance(packet.data[1], Refused)


def test_refused_acks_and_connects_carry_the_refusal():
    ack = WirePacket(encoded_packet="35[NaN]")
    assert isinstance(ack.data, list) and isinstance(ack.data[0], Refused)
    connect = WirePacket(encoded_packet='0{"token":"\\udc00"}')
    assert isinstance(connect.data, Refused)


def test_packets_that_are_json_decode_as_before():
    packet = WirePacket(encoded_packet='212["place_order",{"quantity":"1.5","n":[1,2]}]')
    assert (packet.id, packet.data) == (12, ["place_order", {"quantity": "1.5", "n": [1, 2]}])
    assert WirePacket(socketio.packet.ACK, data=[{"ok": True}], id=3).encode() == '33[{"ok":true}]'


@pytest.mark.parametrize(("text", "found"), [
    ('{"type":"get_account","id":7,"data":' + DEEP, 7),
    ('{ "id" : "a-1", "data": NaN}', "a-1"),
    ('{"type":"x","id":"\\ud800","data":NaN}', None),
    ('{"data":NaN,"id":3}', None),
    (DEEP, None),
])
def test_ws_ids_are_read_from_refused_messages_when_they_come_first(text, found):
    assert leading_id(text) == found


async def test_the_queue_counts_what_its_writer_has_taken_until_it_comes_back():
    queue = PendingQueue()
    for size in (10, 20, 30):
        queue.put_nowait(engineio.packet.Packet(engineio.packet.MESSAGE, data="x" * size))
    assert (queue.packets, queue.bytes) == (3, 63)
    first = await queue.get()  # Engine.IO's writer: one get, then get_nowait until empty
    rest = [queue.get_nowait(), queue.get_nowait()]
    assert len([first, *rest]) == 3 and queue.empty()
    assert (queue.packets, queue.bytes) == (3, 63)  # taken, not yet written
    queue.put_nowait(engineio.packet.Packet(engineio.packet.MESSAGE, data="y"))
    waiting = asyncio.ensure_future(queue.get())  # the writer is back: all it took is written
    await waiting
    assert (queue.packets, queue.bytes) == (1, 2)
    queue.put_nowait(None)
    queue.discard()
    assert (queue.packets, queue.bytes, queue.qsize()) == (0, 0, 0)


class Transport:
    def __init__(self, buffered: int) -> None:
        self.buffered, self.aborted = buffered, False

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


def test_a_connection_over_the_byte_limit_is_aborted_once():
    backlog = Backlog(packets=10, size=1000)
    fine, over = Transport(1000), Transport(1001)
    assert backlog.check_transport(fine, "ws:a") is False and not fine.aborted  # type: ignore[arg-type]
    assert backlog.check_transport(over, "ws:b") is True and over.aborted  # type: ignore[arg-type]
    assert backlog.check_transport(over, "ws:b") is False  # type: ignore[arg-type]
    assert backlog.dropped == 1
    assert backlog.over(11, 0) and backlog.over(0, 1001) and not backlog.over(10, 1000)
