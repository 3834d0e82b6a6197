"""The screener, the Fear & Greed indices and recommendations, end to end: the real app
polling local stand-ins of CoinGecko, alternative.me and CNN (tests/intel_sources.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from config.intel import IntelSettings
from config.settings import Settings
from handlers import keys
from tests.intel_sources import NON_ASCII, IntelSources
from tests.support import Api, Servers, until


@pytest.fixture
async def sources() -> AsyncIterator[IntelSources]:
    async with IntelSources() as running:
        yield running


@pytest.fixture
def intel_settings(settings: Settings, sources: IntelSources) -> Settings:
    return replace(settings, intel=IntelSettings(
        coingecko_url=sources.url("/api/v3"), fng_url=sources.url("/fng/"),
        cnn_fng_url=sources.url("/index/fearandgreed/graphdata"),
        screener_interval=300, sentiment_interval=300))


async def started(servers: Servers, settings: Settings) -> Api:
    """A server whose first poll of every source is done and stored."""
    api = await servers.start(settings)
    intel = api.app[keys.INTEL]
    for _ in range(500):
        docs = [await intel.store.load(name) for name in intel.cache]
        if all(doc is not None and doc["checked_at"] >= intel.started_at for doc in docs):
            return api
        await asyncio.sleep(0.01)
    raise AssertionError("the sources were not polled within 5 s")


async def screener(api: Api, query: str = "") -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/v1/screener{query}")
    assert status == 200, body
    return dict(body)


async def test_screener_lists_tokens_over_100m_with_their_funds_and_trading_symbols(
        servers, intel_settings):
    api = await started(servers, intel_settings)
    body = await screener(api)
    assert [t["id"] for t in body["tokens"]] == ["bitcoin", "ethereum", "solana", "the-graph"]
    assert body["stale"] is False and body["error"] is None and body["source"] == "coingecko"
    assert body["min_market_cap"] == "100000000" and body["sort"] == "market_cap"
    bitcoin, solana = body["tokens"][0], body["tokens"][2]
    assert bitcoin == {**bitcoin, "symbol": "BTC", "price": "97123.45", "rank": 1,
                       "market_cap": "1920000000000", "volume_24h": "31000000000",
                       "change_24h": "1.25", "trading_symbol": "BTCUSDT", "funds": []}
    assert solana["trading_symbol"] == "SOLUSDT"
    assert {"fund": "Multicoin Capital", "source": "https://multicoin.capital/portfolio/"} \
        in solana["funds"]
    assert body["tokens"][3]["trading_symbol"] is None

    by_change = await screener(api, "?sort=change_24h")
    assert [t["id"] for t in by_change["tokens"]] == ["solana", "bitcoin", "ethereum",
                                                      "the-graph"]  # no change: last
    by_volume = await screener(api, "?sort=volume&limit=2")
    assert [t["id"] for t in by_volume["tokens"]] == ["bitcoin", "ethereum"]
    backed = await screener(api, "?backed_by=multicoin%20CAPITAL")
    assert [t["id"] for t in backed["tokens"]] == ["solana", "the-graph"]
    assert backed["backed_by"] == "Multicoin Capital"
    everything = await screener(api, "?min_market_cap=0")
    assert everything["tokens"][-1]["price"] == "0.00000123"


@pytest.mark.parametrize("mode", ["fail", "busy", "not_json", "huge", "missing"])
async def test_a_failing_screener_source_keeps_its_last_value_marked_stale(
        servers, intel_settings, sources, mode, caplog):
    api = await started(servers, intel_settings)
    intel = api.app[keys.INTEL]
    before = await screener(api)
    sources.mode["coingecko"] = mode
    wait = await intel.refresh("coingecko")
    await intel.refresh("coingecko")  # a second failure is not logged again
    body = await screener(api)
    assert body["tokens"] == before["tokens"]
    assert body["stale"] is True and body["error"] and body["updated_at"] == before["updated_at"]
    if mode == "busy":
        assert wait >= 30  # CoinGecko's Retry-After
        assert "asked to wait" in body["error"]
    assert sum("coingecko is down" in r.message for r in caplog.records) == 1

    sources.mode["coingecko"] = "ok"
    await intel.refresh("coingecko")
    assert (await screener(api))["stale"] is False
    assert sum("coingecko is back" in r.message for r in caplog.records) == 1


async def test_malformed_rows_are_dropped_and_non_ascii_names_kept(servers, intel_settings,
                                                                   sources):
    api = await started(servers, intel_settings)
    sources.coins.append(NON_ASCII)
    sources.mode["coingecko"] = "junk"
    await api.app[keys.INTEL].refresh("coingecko")
    body = await screener(api)
    assert body["stale"] is False
    assert [t["id"] for t in body["tokens"]] == ["bitcoin", "ethereum", "solana", "the-graph",
                                                 "zhongwen"]
    assert body["tokens"][-1]["name"] == "中文币 ✨ Ünïcødé"


async def test_sentiment_gives_both_indices_with_their_history(servers, intel_settings):
    api = await started(servers, intel_settings)
    status, body = await api.call("GET", "/api/v1/sentiment?days=7")
    assert status == 200, body
    crypto, stocks = body["indices"]["crypto"], body["indices"]["stocks"]
    assert (crypto["value"], crypto["classification"], crypto["stale"]) == (25, "Extreme Fear",
                                                                            False)
    assert crypto["source"] == "fng" and crypto["provider"] == "alternative.me"
    assert 7 <= len(crypto["history"]) <= 8 and crypto["history"][0]["value"] == 25
    assert (stocks["value"], stocks["classification"]) == (62.5, "Greed")
    assert 7 <= len(stocks["history"]) <= 8
    _, month = await api.call("GET", "/api/v1/sentiment")
    assert 30 <= len(month["indices"]["crypto"]["history"]) <= 31


async def test_recommendations_buy_on_fear_and_sell_on_greed(servers, intel_settings):
    api = await started(servers, intel_settings)
    status, body = await api.call("GET", "/api/v1/recommendations")
    assert status == 200, body
    assert body["thresholds"] == {"buy_below": 45, "sell_above": 55}
    assert body["indices"]["crypto"]["action"] == "BUY"
    assert body["indices"]["stocks"]["action"] == "SELL"
    by_asset = {item["asset"]: item for item in body["recommendations"]}
    assert by_asset["bitcoin"]["action"] == "BUY" and by_asset["bitcoin"]["symbol"] == "BTCUSDT"
    assert "25 (Extreme Fear), below 45" in by_asset["bitcoin"]["reason"]
    assert "tiny-coin" not in by_asset  # under the screener's default market cap
    assert by_asset["AAPL"]["action"] == "SELL" and by_asset["AAPL"]["index"] == "stocks"
    assert "above 55" in by_asset["MSFT"]["reason"]


async def test_a_changed_index_is_pushed_to_every_socket(servers, intel_settings, sources):
    api = await started(servers, intel_settings)
    ann = await api.account()
    sock = await api.socket(ann["access_token"])
    sources.fng_value, sources.fng_class = "72", "Greed"
    await api.app[keys.INTEL].refresh("fng")
    event = await sock.next("sentiment")
    assert (event["index"], event["value"], event["classification"]) == ("crypto", 72, "Greed")
    assert event["stale"] is False
    sources.mode["cnn"] = "fail"
    await api.app[keys.INTEL].refresh("cnn")
    event = await sock.next("sentiment")  # the stocks index went stale
    assert (event["index"], event["stale"], event["value"]) == ("stocks", True, 62.5)


async def test_a_restart_serves_the_stored_values_stale_until_refreshed(
        servers, intel_settings, sources):
    api = await started(servers, intel_settings)
    before = await screener(api)
    _, moods = await api.call("GET", "/api/v1/sentiment")
    await servers.stop(api)
    sources.mode.update(coingecko="fail", fng="fail", cnn="fail")
    again = await started(servers, intel_settings)
    body = await screener(again)
    assert body["tokens"] == before["tokens"] and body["stale"] is True
    _, sentiment = await again.call("GET", "/api/v1/sentiment")
    for index in ("crypto", "stocks"):
        was, now = moods["indices"][index], sentiment["indices"][index]
        assert now == {**was, "stale": True, "error": now["error"]} and now["error"]
    sources.mode.update(coingecko="ok")
    await again.app[keys.INTEL].refresh("coingecko")
    assert (await screener(again))["stale"] is False


async def test_sources_turned_off_answer_empty_and_say_so(api):
    body = await screener(api)
    assert body["tokens"] == [] and body["stale"] is True
    assert "turned off" in body["error"]
    _, sentiment = await api.call("GET", "/api/v1/sentiment")
    assert sentiment["indices"]["crypto"]["value"] is None
    _, recommendations = await api.call("GET", "/api/v1/recommendations")
    assert recommendations["recommendations"] == []


@pytest.mark.parametrize("query", [
    "?min_market_cap=-1", "?min_market_cap=NaN", "?min_market_cap=1e9",
    "?min_market_cap=" + "9" * 40, "?min_market_cap=%EF%BC%91",
    "?min_market_cap=1&min_market_cap=2",
    "?sort=price", "?sort=" + "x" * 5000, "?sort=market_cap&sort=volume",
    "?backed_by=Nobody", "?backed_by=%E4%B8%AD%E6%96%87", "?backed_by=" + "a" * 500,
    "?limit=0", "?limit=251", "?limit=-3", "?limit=NaN",
])
async def test_hostile_screener_queries_are_refused(api, query):
    status, body = await api.call("GET", f"/api/v1/screener{query}")
    assert status == 400, body
    assert body["error"]["code"] == "validation_error" and body["error"]["message"]


@pytest.mark.parametrize("query", ["?days=0", "?days=366", "?days=-1", "?days=NaN",
                                   "?days=%D9%A3", "?days=1&days=2", "?days=" + "9" * 100])
async def test_hostile_sentiment_queries_are_refused(api, query):
    status, body = await api.call("GET", f"/api/v1/sentiment{query}")
    assert status == 400, body
    assert set(body) == {"error"} and body["error"]["code"] == "validation_error"


async def test_in_a_cluster_only_the_leader_polls_and_the_others_read_the_stored_value(
        servers, intel_settings, redis_server, sources):
    settings = replace(intel_settings, redis_url=redis_server.url)
    first = await servers.start(settings)
    await until(lambda: first.app[keys.INTEL].cache["coingecko"].value is not None, 10)
    second = await servers.start(settings)
    await until(lambda: second.app[keys.INTEL].cache["coingecko"].value is not None, 10)
    assert (await screener(second))["tokens"] == (await screener(first))["tokens"]
    assert sources.requests["coingecko"] == 1
    # The process that joined later serves the leader's value as fresh as the leader does.
    assert (await screener(second))["stale"] is False
    await until(lambda: first.app[keys.CLUSTER].leader or second.app[keys.CLUSTER].leader, 10)
    leader, follower = (first, second) if first.app[keys.CLUSTER].leader else (second, first)
    ann = await follower.account()
    sock = await follower.socket(ann["access_token"])
    sources.fng_value, sources.fng_class = "80", "Extreme Greed"
    await leader.app[keys.INTEL].refresh("fng")
    event = await sock.next("sentiment")  # through Redis, from the leader
    assert (event["index"], event["value"]) == ("crypto", 80)
    await until(lambda: (follower.app[keys.INTEL].level("FNG:crypto") or 0) == 80, 10)


async def test_alerts_fire_when_an_index_crosses_their_level(servers, intel_settings, sources):
    api = await started(servers, intel_settings)
    ann = await api.account()
    token = ann["access_token"]
    sock = await api.socket(token)
    status, above = await api.call("POST", "/api/v1/alerts", {
        "symbol": "fng:CRYPTO", "condition": "above", "price": "50"}, token=token)
    assert status == 201, above
    assert above["alert"]["symbol"] == "FNG:crypto"
    _, crosses = await api.call("POST", "/api/v1/alerts", {
        "symbol": "FNG:crypto", "condition": "crosses", "price": "20"}, token=token)
    _, stocks = await api.call("POST", "/api/v1/alerts", {
        "symbol": "FNG:stocks", "condition": "below", "price": "30"}, token=token)
    status, refused = await api.call("POST", "/api/v1/alerts", {
        "symbol": "FNG:crypto", "condition": "above", "price": "101"}, token=token)
    assert status == 400 and refused["error"]["code"] == "validation_error"
    assert "at most 100" in refused["error"]["message"]

    sources.fng_value, sources.fng_class = "72", "Greed"
    await api.app[keys.INTEL].refresh("fng")
    await api.app[keys.INTEL].refresh("cnn")  # unchanged: nothing fires
    event = await sock.next("alert_triggered")
    assert event["alert"]["id"] == above["alert"]["id"] and event["price"] == "72"
    for alert, status_now in ((above, "triggered"), (crosses, "active"), (stocks, "active")):
        _, body = await api.call("GET", f"/api/v1/alerts/{alert['alert']['id']}", token=token)
        assert body["alert"]["status"] == status_now

    sources.fng_value, sources.fng_class = "15", "Extreme Fear"
    await api.app[keys.INTEL].refresh("fng")
    event = await sock.next("alert_triggered")
    assert event["alert"]["id"] == crosses["alert"]["id"] and event["price"] == "15"


@pytest.mark.parametrize("mode", ["fail", "busy", "not_json", "huge", "missing"])
@pytest.mark.parametrize("source", ["fng", "cnn"])
async def test_a_failing_index_source_keeps_its_last_reading_marked_stale(
        servers, intel_settings, sources, source, mode):
    api = await started(servers, intel_settings)
    index = {"fng": "crypto", "cnn": "stocks"}[source]
    _, before = await api.call("GET", "/api/v1/sentiment")
    sources.mode[source] = mode
    await api.app[keys.INTEL].refresh(source)
    _, after = await api.call("GET", "/api/v1/sentiment")
    was, now = before["indices"][index], after["indices"][index]
    assert (now["value"], now["timestamp"], now["history"]) == (was["value"], was["timestamp"],
                                                                was["history"])
    assert now["stale"] is True and now["error"] and was["stale"] is False
    _, advice = await api.call("GET", "/api/v1/recommendations")
    assert advice["indices"][index]["action"] is not None
    assert all(item["stale"] for item in advice["recommendations"] if item["index"] == index)


async def test_an_unreadable_stored_value_is_ignored_and_polled_again(servers, intel_settings,
                                                                     sources):
    api = await started(servers, intel_settings)
    store = api.app[keys.STORE].db.main["intel"]
    unreadable = {"id": "x", "symbol": "x", "name": "X", "price": "NaN?", "market_cap": "1",
                  "volume_24h": "1", "change_24h": None, "rank": None}
    await store.update_one({"_id": "coingecko"}, {"$set": {"value": [unreadable]}})
    await servers.stop(api)
    sources.mode["coingecko"] = "fail"
    again = await started(servers, intel_settings)
    body = await screener(again)
    assert body["tokens"] == [] and body["stale"] is True
    sources.mode["coingecko"] = "ok"
    await again.app[keys.INTEL].refresh("coingecko")
    assert len((await screener(again))["tokens"]) == 4


async def test_a_source_that_stalls_or_is_unreachable_is_down_within_its_timeout(
        servers, intel_settings, sources):
    settings = replace(intel_settings, intel=replace(intel_settings.intel, timeout=1))
    api = await started(servers, settings)
    intel = api.app[keys.INTEL]
    sources.mode["coingecko"] = "stall"
    loop = asyncio.get_running_loop()
    began = loop.time()
    await intel.refresh("coingecko")
    assert loop.time() - began < 3
    body = await screener(api)
    assert body["stale"] is True and "unreachable (TimeoutError)" in body["error"]
    assert len(body["tokens"]) == 4
    intel.sources["fng"].url = "http://127.0.0.1:9/fng/"  # nothing listens on port 9
    await intel.refresh("fng")
    _, sentiment = await api.call("GET", "/api/v1/sentiment")
    assert "alternative.me is unreachable" in sentiment["indices"]["crypto"]["error"]


async def test_a_source_turned_off_serves_its_stored_value_stale_saying_so(
        servers, intel_settings):
    api = await started(servers, intel_settings)
    before = await screener(api)
    await servers.stop(api)
    off = await servers.start(replace(intel_settings, intel=replace(intel_settings.intel,
                                                                    sources=("fng", "cnn"))))
    body = await screener(off)
    assert body["tokens"] == before["tokens"] and body["stale"] is True
    assert body["error"] == "This source is turned off (INTEL_SOURCES)."
