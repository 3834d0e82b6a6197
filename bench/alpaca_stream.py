"""A fill's latency to an Alpaca trading stream client (/stream) against Socket.IO's
order_update, for the same orders.

    python -m bench.alpaca_stream --orders 1000 --concurrency 4 --listeners 1

One server and one user, with --listeners Socket.IO clients (the token) and as many
/stream clients (an API key, listening to trade_updates) open at once. Market orders
(alternately buy and sell, so the books stay small) go over REST, --concurrency at
a time; each order's latency on each transport is from just before its request to
the arrival of its fill: Socket.IO's order_update with status filled, the stream's
trade_updates fill. Prints p50/p99/max side by side, the stream's share of
Socket.IO's, and how long after Socket.IO's the same order's fill reached the stream.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import defaultdict
from itertools import count
from typing import Any

import aiohttp

from bench.lightclient import LightClient
from bench.server import BenchServer, trading_env

Arrivals = defaultdict[str, list[float]]  # client_order_id -> arrival times


class Arrived:
    """The fills' arrivals on both transports, and an event set once all are in."""

    def __init__(self) -> None:
        self.socketio: Arrivals = defaultdict(list)
        self.stream: Arrivals = defaultdict(list)
        self.count, self.expected = 0, -1
        self.all = asyncio.Event()

    def note(self, arrivals: Arrivals, client_order_id: str, at: float) -> None:
        arrivals[client_order_id].append(at)
        self.count += 1
        self.check()

    def check(self) -> None:
        if 0 <= self.expected <= self.count:
            self.all.set()


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def stream_client(http: aiohttp.ClientSession, url: str, key: dict[str, Any],
                        arrived: Arrived) -> tuple[aiohttp.ClientWebSocketResponse,
                                                   asyncio.Task[None]]:
    """A /stream client listening to trade_updates; its fills' arrivals are noted."""
    ws = await http.ws_connect(url.replace("http://", "ws://") + "/stream")
    await ws.send_str(json.dumps({"action": "authenticate", "data": {
        "key_id": key["key_id"], "secret_key": key["secret"]}}))
    assert json.loads((await ws.receive()).data)["data"]["status"] == "authorized"
    await ws.send_str(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
    assert json.loads((await ws.receive()).data)["stream"] == "listening"

    async def read() -> None:
        async for message in ws:
            at = time.time()
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                break
            update = json.loads(message.data)
            if update.get("stream") == "trade_updates" and update["data"]["event"] == "fill":
                arrived.note(arrived.stream, update["data"]["order"]["client_order_id"], at)

    return ws, asyncio.create_task(read())


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--listeners", type=int, default=1,
                        help="clients of each transport")
    args = parser.parse_args()
    env = trading_env()
    sent: dict[str, float] = {}
    arrived = Arrived()
    socketio_at, stream_at = arrived.socketio, arrived.stream

    def on_event(name: str, data: Any, at: float) -> None:
        if name == "order_update" and data["order"]["status"] == "filled":
            arrived.note(socketio_at, data["order"]["client_order_id"], at)

    async with BenchServer(**env) as server, aiohttp.ClientSession() as http:
        token = await server.token(http)
        headers = {"Authorization": f"Bearer {token}"}
        async with http.post(server.url + "/api/v1/me/api-keys", json={"name": "bench"},
                             headers=headers) as answer:
            key = await answer.json()
        socket_clients = [LightClient(http, server.url, token, on_event=on_event)
                          for _ in range(args.listeners)]
        for client in socket_clients:
            await client.connect()
        streams = [await stream_client(http, server.url, key, arrived)
                   for _ in range(args.listeners)]
        numbers = count()

        async def place() -> None:
            while (n := next(numbers)) < args.orders:
                client_order_id = f"bench-{n}"
                body = {"symbol": "AAPL", "side": "buy" if n % 2 else "sell", "quantity": "1",
                        "client_order_id": client_order_id}
                sent[client_order_id] = time.time()
                async with http.post(server.url + "/api/v1/orders", json=body,
                                     headers=headers) as answer:
                    await answer.read()
                    if answer.status != 201:
                        sent.pop(client_order_id)

        await asyncio.gather(*(place() for _ in range(args.concurrency)))
        arrived.expected = 2 * args.listeners * len(sent)
        arrived.check()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(arrived.all.wait(), 10)
        for client in socket_clients:
            await client.close()
        for ws, reader in streams:
            reader.cancel()
            await ws.close()
    results = {name: [(at - sent[i]) * 1000 for i in sent for at in arrived.get(i, [])]
               for name, arrived in (("Socket.IO order_update", socketio_at),
                                     ("/stream trade_updates", stream_at))}
    print(f"{len(sent)} market orders over REST, {args.concurrency} in flight, "
          f"{args.listeners} client(s) of each transport; ms from request to the fill's arrival")
    print(f"{'':24} {'fills':>6} {'p50':>8} {'p99':>8} {'max':>8}")
    for name, latencies in results.items():
        print(f"{name:24} {len(latencies):6d} {pct(latencies, .5):8.2f} "
              f"{pct(latencies, .99):8.2f} {max(latencies):8.2f}")
    native, alpaca = results.values()
    print(f"{'/stream share':24} {'':6} {pct(alpaca, .5) / pct(native, .5):8.0%} "
          f"{pct(alpaca, .99) / pct(native, .99):8.0%}")
    # The same order's two arrivals (first listener of each): what /stream adds.
    gaps = [(stream_at[i][0] - socketio_at[i][0]) * 1000 for i in sent
            if stream_at.get(i) and socketio_at.get(i)]
    print(f"{'/stream after Socket.IO':24} {len(gaps):6d} {pct(gaps, .5):8.2f} "
          f"{pct(gaps, .99):8.2f} {max(gaps):8.2f}")


if __name__ == "__main__":
    asyncio.run(main())
