"""Socket commands fed random and malformed payloads: an ack for every one, no crash,
nothing stored changes."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers import keys
from store.check import check_books
from tests.e2e.test_plain_ws import PlainSocket, connect
from tests.e2e.test_socket_wire import WireSocket
from tests.e2e.trading_support import set_price

COMMANDS = ["whoami", "join", "subscribe", "unsubscribe", "place_order", "cancel_order",
            "modify_trade", "exit_trade", "exit_all", "get_account", "create_alert",
            "delete_alert", "list_alerts"]
FIELDS = ["symbol", "symbols", "side", "type", "quantity", "limit_price", "stop_price",
          "stop_loss", "target_price", "trailing_amount", "trailing_percent", "time_in_force",
          "client_order_id", "order_id", "trade_id", "alert_id", "condition", "price",
          "channels", "repeat", "cooldown", "note", "status", "token", "user_id"]
# Numbers no amount may be: huge exponents, beyond what the books keep (92233720368.
# 54775807), and more places than they keep.
HOSTILE_NUMBERS = ["1e999990", "1e5000", "-1e999990", "92233720368.55", 1e20, 10**30,
                   "0.000000001"]
LONE_SURROGATES = ["x\ud800", "\udfff", "AAPL\udc00"]


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


# JSON that handlers/wire_json.py refuses, as a Python client can send it.
REFUSED = st.one_of(st.sampled_from(LONE_SURROGATES), st.integers(33, 400).map(nested),
                    st.sampled_from([float("nan"), float("inf"), float("-inf")]))
# Values near the valid ones, and of every other JSON type.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(["AAPL", "buy", "sell", "market", "limit", "-1", "0", "1e400", "NaN",
                     "Infinity", "0.000000001", "99999999999999999999", "above", "gtc",
                     "", " ", "\u0000", "' OR 1=1 --", "{\"$gt\": \"\"}"]),
    st.sampled_from(HOSTILE_NUMBERS))
JSON = st.recursive(st.one_of(SCALARS, REFUSED), lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10),
                              st.sampled_from(LONE_SURROGATES)), inner,
                    max_size=5)), max_leaves=12)
PAYLOADS = st.one_of(JSON, st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6),
                     st.dictionaries(st.sampled_from(FIELDS), SCALARS, min_size=1, max_size=8))
# Each amount field, with the rest of a command it could be valid in.
AMOUNTS = [
    ("place_order", "quantity", {"symbol": "AAPL", "side": "buy", "type": "market"}),
    ("place_order", "limit_price", {"symbol": "AAPL", "side": "buy", "type": "limit",
                                    "quantity": "1"}),
    ("place_order", "stop_loss", {"symbol": "AAPL", "side": "buy", "quantity": "1"}),
    ("place_order", "trailing_percent", {"symbol": "AAPL", "side": "buy", "quantity": "1"}),
    ("create_alert", "price", {"symbol": "AAPL", "condition": "above"}),
]
# Packet JSON after the event name, as written on the wire: numbers and nesting no Python
# client would send as such.
RAW = ['{"symbol":"AAPL","side":"buy","quantity":1e999990}',
       '{"symbol":"AAPL","side":"buy","quantity":-1e5000}',
       '{"symbol":"AAPL","side":"buy","quantity":92233720368.55}',
       '{"symbol":"AAPL","side":"buy","quantity":1e20}',
       '{"symbol":"AAPL","side":"buy","quantity":' + "9" * 5000 + "}",
       '{"symbol":"AAPL","side":"buy","quantity":NaN}',
       '{"symbol":"AAPL","side":"buy","quantity":Infinity}',
       '{"symbol":"AAPL\\ud800","side":"buy","quantity":"1"}',
       '{"symbol":"AAPL","side":"buy","quantity":' + "[" * 50_000,
       "[" * 30_000 + "]" * 30_000]  # within SOCKET_MAX_MESSAGE_BYTES


def generate(count: int) -> list[tuple[str, Any]]:
    """Draw (command, payload) pairs, the same ones every run."""
    drawn: list[tuple[str, Any]] = []

    @settings(max_examples=count, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(st.sampled_from(COMMANDS), PAYLOADS)
    def collect(command: str, payload: Any) -> None:
        drawn.append((command, payload))

    collect()
    return drawn


async def stored(api) -> dict[str, list[Any]]:  # type: ignore[no-untyped-def]
    db = api.app[keys.STORE].db
    return {name: [doc async for doc in db[name].find({}, {"updated_at": 0})]
            for name in ("accounts", "orders", "trades", "ledger", "alerts", "users")}


async def test_random_payloads_get_acks_never_crash_and_change_nothing(servers, settings):
    # Without the per-connection and per-user message limits, so every payload reaches
    # its handler.
    api = await servers.start(replace(settings, limits=replace(settings.limits,
                                                               socket_per_second=0,
                                                               socket_user_per_second=0)))
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    sock = await api.socket(tokens["access_token"])
    await sock.call("get_account")  # the account exists before the snapshot
    before = await stored(api)
    codes: dict[str, int] = {}
    for command, payload in generate(400):
        ack = await sock.call(command, payload)
        assert isinstance(ack, dict) and isinstance(ack.get("ok"), bool), (command, payload)
        if not ack["ok"]:
            code = ack["error"]["code"]
            assert code != "internal_error", (command, payload, ack)
            codes[code] = codes.get(code, 0) + 1
    assert sock.sio.connected
    assert await stored(api) == before
    assert await check_books(api.app[keys.STORE].db) == []
    assert codes.get("validation_error", 0) > 50  # the payloads did reach validation
    assert codes.get("invalid_json", 0) > 20  # and JSON no client should send was refused


@pytest.mark.parametrize("transport", ["socket.io", "ws"])
async def test_hostile_numbers_and_refused_json_get_error_acks_and_the_server_stays_up(
        servers, settings, transport):
    api = await servers.start(replace(settings, limits=replace(settings.limits,
                                                               socket_per_second=0,
                                                               socket_user_per_second=0)))
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    if transport == "socket.io":
        sock = await api.socket(tokens["access_token"])
        wire = await WireSocket.open(api.client, "", tokens["access_token"])
        call, raw = sock.call, (lambda name, text: wire.call(f'["{name}",{text}]'))
    else:
        plain = PlainSocket(await connect(api, tokens["access_token"]))

        async def raw(name: str, text: str) -> Any:
            plain.ids += 1
            await plain.ws.send_str(f'{{"type":"{name}","id":{plain.ids},"data":{text}}}')
            return await plain.receive()
        call = plain.call
    await call("get_account")
    before = await stored(api)
    acks = []
    for command, field, rest in AMOUNTS:
        for value in [*HOSTILE_NUMBERS, *LONE_SURROGATES, nested(40), float("nan")]:
            acks.append(((command, field, value), await call(command, {**rest, field: value})))
    for text in RAW:
        acks.append(((text[:60],), await raw("place_order", text)))
    for what, ack in acks:
        assert ack["ok"] is False, (what, ack)
        assert ack["error"]["code"] in {"validation_error", "invalid_json", "invalid_quantity",
                                        "invalid_price"}, (what, ack)
    assert (await call("whoami"))["ok"] is True  # still up, on the same connection
    assert await stored(api) == before
    assert json.dumps([ack for _, ack in acks])  # every answer could be written out
