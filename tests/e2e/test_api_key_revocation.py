"""A revoked API key keeps no socket: not one admitted around the revocation (the key
read just before it was deleted), nor one admitted by another process that still held
the key; and a deleted user's key is refused, not a server error."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import socketio

from handlers import keys
from services import api_keys
from store.api_keys import ApiKeyStore
from tests.e2e.test_api_keys import KEYS, create
from tests.e2e.trading_support import priced_trader, set_price
from tests.support import PASSWORD

BUY = {"symbol": "AAPL", "side": "buy", "quantity": "1"}


async def closed_or_refused(sock, seconds: float = 3.0) -> bool:
    """Whether the socket was closed by the server within seconds (a negative wait)."""
    try:
        await asyncio.wait_for(sock.disconnected.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def test_a_key_revoked_while_its_socket_is_admitted_leaves_no_socket_open(
        api, monkeypatch):
    login = await priced_trader(api)
    key = await create(api, login)
    reached, release = asyncio.Event(), asyncio.Event()
    original = ApiKeyStore.touch

    async def held_touch(self, *args):  # type: ignore[no-untyped-def]
        # Admission has read the key; hold it here while the key is revoked.
        reached.set()
        await release.wait()
        return await original(self, *args)

    monkeypatch.setattr(ApiKeyStore, "touch", held_touch)
    connecting = asyncio.create_task(api.socket(key["token"]))
    await reached.wait()
    assert (await api.call("DELETE", f"{KEYS}/{key['id']}", token=login))[0] == 204
    assert (await api.call("GET", "/api/v1/account", token=key["token"]))[0] == 401
    release.set()
    try:
        sock = await connecting
    except socketio.exceptions.ConnectionError:
        return  # refused: sound
    placed = await sock.call("place_order", BUY)
    assert placed["ok"] is False, ("a revoked key's socket placed an order", placed)
    assert await closed_or_refused(sock)


async def test_a_socket_admitted_by_another_process_after_a_revocation_is_closed(
        servers, redis_settings, monkeypatch):
    """Production caches a key for 1 s (CACHE_SECONDS); 3 s here makes the window wide
    enough to hit without timing luck. What matters is after the window."""
    monkeypatch.setattr(api_keys, "CACHE_SECONDS", 3.0)
    first = await servers.start(redis_settings)
    second = await servers.start(replace(redis_settings, port=0))
    login = await priced_trader(first)
    set_price(second, "AAPL", "100")
    key = await create(first, login)
    watcher = await second.socket(key["token"])  # second now has the key cached
    assert (await first.call("DELETE", f"{KEYS}/{key['id']}", token=login))[0] == 204
    assert await watcher.next("session_revoked") == {"reason": "session ended"}
    # second has handled the revocation; a new socket with the key:
    try:
        late = await second.socket(key["token"])
    except socketio.exceptions.ConnectionError:
        return  # refused: sound
    while (await second.call("GET", "/api/v1/me", token=key["token"]))[0] == 200:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    # The key is refused on REST everywhere now; its late socket must not trade.
    placed = await late.call("place_order", BUY)
    assert placed["ok"] is False, ("a revoked key's socket placed an order", placed)


async def test_a_deleted_account_is_not_traded_again_by_its_key_on_another_process(
        servers, redis_settings, monkeypatch):
    """DELETE /me removes the account and all its data; a process that still holds the
    user's key (CACHE_SECONDS, 1 s in production, 3 s here to hit it reliably) takes an
    order for the user that is gone: it must be refused (401), not fail with a 500 (what
    it does: the process remembers the account exists, the fill finds none) nor make an
    account and books again."""

    monkeypatch.setattr(api_keys, "CACHE_SECONDS", 3.0)
    first = await servers.start(redis_settings)
    second = await servers.start(replace(redis_settings, port=0))
    login = await priced_trader(first)
    set_price(second, "AAPL", "100")
    key = await create(first, login)
    assert (await second.call("GET", "/api/v1/account", token=key["token"]))[0] == 200
    status, _ = await first.call("DELETE", "/api/v1/me", {"password": PASSWORD},
                                 token=login)
    assert status == 204
    status, body = await second.call("POST", "/api/v1/orders", BUY, token=key["token"])
    db = first.app[keys.STORE].db
    left = {name: await db[name].count_documents({}) for name in ("accounts", "orders",
                                                                   "trades", "ledger")}
    assert status == 401 and not any(left.values()), (status, body, left)
