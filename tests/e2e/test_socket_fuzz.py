"""Socket commands fed random and malformed payloads: an ack for every one, no crash,
nothing stored changes."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import keys
from store.check import check_books
from tests.e2e.trading_support import set_price

COMMANDS = ["whoami", "join", "subscribe", "unsubscribe", "place_order", "cancel_order",
            "modify_trade", "exit_trade", "exit_all", "get_account", "create_alert",
            "delete_alert", "list_alerts"]
FIELDS = ["symbol", "symbols", "side", "type", "quantity", "limit_price", "stop_price",
          "stop_loss", "target_price", "trailing_amount", "trailing_percent", "time_in_force",
          "client_order_id", "order_id", "trade_id", "alert_id", "condition", "price",
          "channels", "repeat", "cooldown", "note", "status", "token", "user_id"]
# Values near the valid ones, and of every other JSON type.
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**20, 10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
    st.sampled_from(["AAPL", "buy", "sell", "market", "limit", "-1", "0", "1e400", "NaN",
                     "Infinity", "0.000000001", "99999999999999999999", "above", "gtc",
                     "", " ", "\u0000", "' OR 1=1 --", "{\"$gt\": \"\"}"]))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=10)), inner,
                    max_size=5)), max_leaves=12)
PAYLOADS = st.one_of(JSON, st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=6),
                     st.dictionaries(st.sampled_from(FIELDS), SCALARS, min_size=1, max_size=8))


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
    # Without the per-connection message limit, so every payload reaches its handler.
    api = await servers.start(replace(settings, limits=replace(settings.limits,
                                                               socket_per_second=0)))
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
