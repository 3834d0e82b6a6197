"""Per-user watchlists over REST, persisted in the database."""

import asyncio
from dataclasses import replace

from handlers import keys
from tests.support import PASSWORD, quote


async def test_watchlist_starts_empty_and_needs_a_token(api):
    tokens = await api.account()
    assert await api.call("GET", "/api/v1/watchlist", token=tokens["access_token"]) == (
        200, {"symbols": [], "quotes": []})
    status, body = await api.call("GET", "/api/v1/watchlist")
    assert (status, body["error"]["code"]) == (401, "authentication_required")


async def test_put_replaces_the_list_in_order_with_current_quotes(api):
    tokens = await api.account()
    hub = api.app[keys.MARKET].hub
    hub.publish(quote("AAPL", "190", hub.clock()))
    status, body = await api.call("PUT", "/api/v1/watchlist",
                                  {"symbols": ["msft", "AAPL", "btc-usdt", "MSFT"]},
                                  token=tokens["access_token"])
    assert status == 200
    assert body["symbols"] == ["MSFT", "AAPL", "BTCUSDT"]
    assert [(q["symbol"], q["price"]) for q in body["quotes"]] == [
        ("MSFT", None), ("AAPL", "190"), ("BTCUSDT", None)]
    _, again = await api.call("GET", "/api/v1/watchlist", token=tokens["access_token"])
    assert again["symbols"] == ["MSFT", "AAPL", "BTCUSDT"]


async def test_unknown_symbols_are_400_and_leave_the_list_unchanged(api):
    tokens = await api.account()
    await api.call("PUT", "/api/v1/watchlist", {"symbols": ["AAPL"]}, token=tokens["access_token"])
    for method, body in (("PUT", {"symbols": ["AAPL", "DOGE"]}), ("POST", {"symbol": "DOGE"})):
        status, answer = await api.call(method, "/api/v1/watchlist", body,
                                        token=tokens["access_token"])
        assert (status, answer["error"]["code"]) == (400, "unknown_symbol")
    _, body = await api.call("GET", "/api/v1/watchlist", token=tokens["access_token"])
    assert body["symbols"] == ["AAPL"]


async def test_post_adds_once_and_delete_removes_by_any_spelling(api):
    tokens = await api.account()
    for symbol in ("AAPL", "btc-usdt", "BTCUSDT"):
        status, body = await api.call("POST", "/api/v1/watchlist", {"symbol": symbol},
                                      token=tokens["access_token"])
        assert status == 200
    assert body["symbols"] == ["AAPL", "BTCUSDT"]
    status, body = await api.call("DELETE", "/api/v1/watchlist/btc-usdt",
                                  token=tokens["access_token"])
    assert (status, body["symbols"]) == (200, ["AAPL"])
    status, body = await api.call("DELETE", "/api/v1/watchlist/NOT-LISTED",
                                  token=tokens["access_token"])
    assert (status, body["symbols"]) == (200, ["AAPL"])


async def test_the_limit_holds_even_under_concurrent_adds(servers, settings):
    api = await servers.start(replace(settings, market=replace(settings.market,
                                                               watchlist_limit=3)))
    tokens = await api.account()
    symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "AAPL", "MSFT", "RELIANCE.NS", "^NSEI"]
    results = await asyncio.gather(*(api.call("POST", "/api/v1/watchlist", {"symbol": s},
                                              token=tokens["access_token"]) for s in symbols))
    assert sorted(status for status, _ in results) == [200] * 3 + [400] * 4
    _, body = await api.call("GET", "/api/v1/watchlist", token=tokens["access_token"])
    assert len(body["symbols"]) == 3
    status, answer = await api.call("PUT", "/api/v1/watchlist", {"symbols": symbols[:4]},
                                    token=tokens["access_token"])
    assert (status, answer["error"]["code"]) == (400, "validation_error")


async def test_watchlists_are_per_user_and_go_with_the_account(api):
    ann = await api.account()
    bob = await api.account(email="bob@example.com", name="Bob")
    await api.call("PUT", "/api/v1/watchlist", {"symbols": ["AAPL"]}, token=ann["access_token"])
    await api.call("PUT", "/api/v1/watchlist", {"symbols": ["MSFT"]}, token=bob["access_token"])
    _, body = await api.call("GET", "/api/v1/watchlist", token=bob["access_token"])
    assert body["symbols"] == ["MSFT"]
    await api.call("DELETE", "/api/v1/me", {"password": PASSWORD}, token=ann["access_token"])
    db = api.app[keys.STORE].db
    assert await db["watchlists"].count_documents({"user_id": ann["user"]["id"]}) == 0
    assert await db["watchlists"].count_documents({"user_id": bob["user"]["id"]}) == 1


async def test_watchlist_survives_a_restart(servers, settings):
    api = await servers.start(settings)
    tokens = await api.account()
    await api.call("PUT", "/api/v1/watchlist", {"symbols": ["^NSEI", "AAPL"]},
                   token=tokens["access_token"])
    await servers.stop(api)
    again = await servers.start(settings)
    _, body = await again.call("GET", "/api/v1/watchlist", token=tokens["access_token"])
    assert body["symbols"] == ["^NSEI", "AAPL"]
