"""News: headlines from local RSS and Atom stand-ins, stored, listed, pushed, kept when a
feed fails."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from config.settings import NewsSettings, Settings
from handlers import keys
from tests.e2e.test_plain_ws import PlainSocket, connect
from tests.news_feeds import NewsSite, Story
from tests.support import Api, Servers, until

pytestmark = pytest.mark.timeout(90)


@pytest.fixture
async def site() -> AsyncIterator[NewsSite]:
    async with NewsSite() as news_site:
        yield news_site


def with_news(settings: Settings, site: NewsSite, *names: str, **options: Any) -> Settings:
    """The settings with news on, fetched from the stand-in's channels every second."""
    chosen = {"poll_interval": 1.0, "timeout": 1.0, "max_bytes": 1 << 20, **options}
    return replace(settings, news=NewsSettings(
        enabled=True, feeds=tuple((name, site.url(name)) for name in names), **chosen))


async def listing(api: Api, query: str = "") -> dict[str, Any]:
    status, body = await api.call("GET", f"/api/v1/news{query}")
    assert status == 200, body
    return dict(body)


async def eventually(read: Callable[[], Awaitable[dict[str, Any]]],
                     holds: Callable[[dict[str, Any]], bool],
                     within: float = 10.0) -> dict[str, Any]:
    """Read until what is read holds (the poller works on its own schedule)."""
    async with asyncio.timeout(within):
        while not holds(found := await read()):  # noqa: ASYNC110 - the state is over HTTP
            await asyncio.sleep(0.05)
    return found


def stories(clock_now, *titles: str) -> list[Story]:  # type: ignore[no-untyped-def]
    """Stories a minute apart, the first the newest."""
    return [Story(title, f"https://news.example/{i}/{title.split()[0].lower()}",
                  clock_now - timedelta(minutes=i), f"<p>{title} <b>today</b></p>")
            for i, title in enumerate(titles, 1)]


async def test_headlines_from_rss_and_atom_are_listed_newest_first_tagged_and_deduplicated(
        site: NewsSite, servers: Servers, settings: Settings, clock) -> None:
    now = clock.now
    site.add("coindesk", "rss", *stories(now, "Bitcoin climbs past $90,000",
                                         "Solana validators upgrade"))
    markets = site.add(
        "markets", "atom",
        Story("Apple & <i>Microsoft</i> lead tech <script>alert(1)</script>",
              "https://markets.example/tech", now - timedelta(minutes=30),
              "<div><p>Shares of Apple rose &amp; more</p></div>"),
        Story("Nothing to see", "javascript:alert(1)", now - timedelta(hours=2)))
    api = await servers.start(with_news(settings, site, "coindesk", "markets"))
    await eventually(lambda: listing(api), lambda b: len(b["news"]) == 4)
    # The same story again, under another spelling of its title and under a tracking link.
    markets.stories += [Story("BITCOIN climbs past $90,000!", "https://other.example/btc", now),
                        Story("Bitcoin climbs (update)",
                              "https://www.news.example/1/bitcoin/?utm_source=rss#top", now)]
    fetched = markets.requests
    await until(lambda: markets.requests >= fetched + 2)  # one whole fetch since
    body = await eventually(lambda: listing(api), lambda b: all(s["ok"] for s in b["sources"]))
    assert body["stale"] is False and body["next_cursor"] is None
    titles = [item["title"] for item in body["news"]]
    assert titles == ["Bitcoin climbs past $90,000", "Solana validators upgrade",
                      "Apple & Microsoft lead tech", "Nothing to see"]
    first, _, tech, bad_link = body["news"]
    assert set(first) == {"id", "title", "summary", "link", "source", "published_at",
                          "symbols"}
    assert first["symbols"] == ["BTCUSDT"] and first["source"] == "coindesk"
    assert first["summary"] == "Bitcoin climbs past $90,000 today"
    assert tech["symbols"] == ["AAPL", "MSFT"] and tech["summary"] == "Shares of Apple rose & more"
    assert bad_link["link"] is None and bad_link["symbols"] == []
    assert [s["name"] for s in body["sources"]] == ["coindesk", "markets"]
    assert all(s["last_success"] and "error" not in s for s in body["sources"])

    # Any spelling of a symbol; paging one at a time walks the list without repeats.
    assert [i["title"] for i in (await listing(api, "?symbol=btc-usdt"))["news"]] == [titles[0]]
    assert (await listing(api, "?symbol=aapl"))["news"][0]["id"] == tech["id"]
    walked, cursor = [], None
    for _ in range(10):
        page = await listing(api, "?limit=1" + (f"&cursor={cursor}" if cursor else ""))
        walked += [item["id"] for item in page["news"]]
        if (cursor := page["next_cursor"]) is None:
            break
    assert walked == [item["id"] for item in body["news"]]


@pytest.mark.parametrize(("mode", "error"), [
    ("busy", "HTTP 429"), ("fail", "HTTP 500"), ("junk", "not a feed"),
    ("html", "not a feed"), ("huge", "larger than"), ("slow", "no answer within"),
    ("redirects", "redirects")])
async def test_a_feed_that_fails_keeps_its_headlines_marked_stale_with_the_error(
        site: NewsSite, servers: Servers, settings: Settings, clock, mode: str,
        error: str) -> None:
    channel = site.add("coindesk", "rss", *stories(clock.now, "Ether rallies"))
    api = await servers.start(with_news(settings, site, "coindesk"))
    await eventually(lambda: listing(api), lambda b: len(b["news"]) == 1 and not b["stale"])
    channel.mode = mode
    body = await eventually(lambda: listing(api), lambda b: b["stale"])
    assert [item["title"] for item in body["news"]] == ["Ether rallies"]
    (source,) = body["sources"]
    assert source["name"] == "coindesk" and source["ok"] is False
    assert error in source["error"] and source["last_success"] is not None


async def test_a_feed_going_down_and_coming_back_is_logged_once_each_way(
        site: NewsSite, servers: Servers, settings: Settings, clock,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="services.news")
    channel = site.add("coindesk", "rss", *stories(clock.now, "Bitcoin dips"))
    channel.mode = "fail"
    api = await servers.start(with_news(settings, site, "coindesk"))
    poller = api.app[keys.NEWS]
    assert poller is not None
    await until(lambda: channel.requests >= 3, within=15)  # it keeps trying, backing off
    channel.mode = "ok"
    body = await eventually(lambda: listing(api), lambda b: not b["stale"], within=15)
    assert [item["title"] for item in body["news"]] == ["Bitcoin dips"]
    lines = [r.getMessage() for r in caplog.records if r.name == "services.news"]
    assert lines == ["news feed coindesk is down: HTTP 500", "news feed coindesk is back"]


async def test_a_restart_keeps_the_history_when_the_feed_is_down(
        site: NewsSite, servers: Servers, settings: Settings, clock) -> None:
    channel = site.add("cointelegraph", "rss", *stories(clock.now, "Bitcoin miners", "Apple"))
    configured = with_news(settings, site, "cointelegraph")
    first = await servers.start(configured)
    # The fetch stores its headlines, then the feed's state: wait for both.
    before = await eventually(lambda: listing(first), lambda b: len(b["news"]) == 2 and
                              b["sources"][0]["last_success"] is not None)
    await servers.stop(first)
    channel.mode = "fail"
    second = await servers.start(configured)
    after = await eventually(lambda: listing(second), lambda b: b["stale"])
    assert after["news"] == before["news"]
    assert after["sources"][0]["last_success"] == before["sources"][0]["last_success"]
    # With fetching off, the stored headlines are still served, marked stale.
    await servers.stop(second)
    off = await servers.start(replace(configured, news=replace(configured.news, enabled=False)))
    body = await listing(off)
    assert body["news"] == before["news"] and body["stale"] is True
    assert body["sources"][0]["error"] == "news fetching is off"


async def test_new_headlines_are_pushed_to_sockets_subscribed_to_their_symbols_only(
        site: NewsSite, servers: Servers, settings: Settings, clock) -> None:
    channel = site.add("coindesk", "rss", *stories(clock.now, "Markets open"))
    api = await servers.start(with_news(settings, site, "coindesk"))
    await eventually(lambda: listing(api), lambda b: len(b["news"]) == 1)
    tokens = await api.account()
    btc, apple = await api.socket(tokens["access_token"]), await api.socket(tokens["access_token"])
    assert (await btc.call("subscribe", {"symbols": ["BTCUSDT", "ETHUSDT"]}))["ok"]
    assert (await apple.call("subscribe", {"symbols": ["AAPL"]}))["ok"]
    plain = PlainSocket(await connect(api, tokens["access_token"]))
    assert (await plain.call("subscribe", {"symbols": ["btcusdt"]}))["ok"]

    channel.stories[:0] = [
        Story("Bitcoin and Ether <b>surge</b>", "https://n.example/surge", clock.now,
              "BTC and ETH"),
        # New to the feed but two days old: stored, not pushed.
        Story("Bitcoin's week in review", "https://n.example/old", clock.now - timedelta(days=2))]
    pushed = await btc.next("news", within=10)
    assert pushed["title"] == "Bitcoin and Ether surge"
    assert pushed["symbols"] == ["BTCUSDT", "ETHUSDT"] and pushed["source"] == "coindesk"
    over_ws = await plain.next("news")
    assert over_ws["id"] == pushed["id"]
    # Sent once though it mentions two of the socket's symbols; nothing for AAPL's.
    channel.stories.insert(0, Story("Apple unveils a chip", "https://n.example/chip", clock.now))
    assert (await apple.next("news", within=10))["symbols"] == ["AAPL"]
    assert [data["title"] for event, data in btc.received if event == "news"] == [
        "Bitcoin and Ether surge"]
    assert "Bitcoin's week in review" in [i["title"] for i in (await listing(api))["news"]]
    assert [data["title"] for event, data in apple.received if event == "news"] == [
        "Apple unveils a chip"]
    await plain.ws.close()


@pytest.mark.parametrize("query", [
    "?limit=0", "?limit=101", "?limit=abc", "?limit=-1", "?limit=1e2", "?limit=%00",
    "?limit=5&limit=6", "?cursor=garbage", "?cursor=" + "A" * 5000,
    "?cursor=YXNzZXRzOkFBUEw",  # a cursor of the assets list
    "?cursor=bmV3czo5OTk5OTk5OTk5OTk5OTkuYWJj",  # news:, but not a position in it
    "?symbol=NOPE", "?symbol=%3Cscript%3Ealert(1)%3C/script%3E", "?symbol=" + "B" * 4000,
    "?symbol=BTC%00USDT", "?symbol=BTCUSDT&symbol=AAPL", "?symbol=", "?sort=asc",
    "?%F0%9F%92%A3=1"])
async def test_hostile_query_parameters_get_400_in_the_one_error_shape(api: Api,
                                                                       query: str) -> None:
    status, body = await api.call("GET", f"/api/v1/news{query}")
    assert status == 400, body
    assert set(body) == {"error"} and set(body["error"]) >= {"code", "message"}
    assert body["error"]["code"] in ("validation_error", "unknown_symbol")


async def test_with_several_processes_only_the_leader_fetches_and_every_process_pushes(
        site: NewsSite, servers: Servers, redis_settings: Settings, clock) -> None:
    from tests.e2e.test_cluster import pair
    channel = site.add("coindesk", "rss", *stories(clock.now, "Quiet day"))
    _, follower = await pair(servers, with_news(redis_settings, site, "coindesk"))
    await eventually(lambda: listing(follower), lambda b: len(b["news"]) == 1)
    following = follower.app[keys.NEWS]
    assert following is not None and following.fetches == 0
    token = (await follower.account())["access_token"]
    sock = await follower.socket(token)
    assert (await sock.call("subscribe", {"symbols": ["SOLUSDT"]}))["ok"]
    channel.stories.insert(0, Story("$SOL jumps", "https://n.example/sol", clock.now))
    assert (await sock.next("news", within=10))["symbols"] == ["SOLUSDT"]
    assert following.fetches == 0
