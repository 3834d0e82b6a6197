"""Headlines against the real database: each story once, pages newest first, feed states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.database import connect, ensure_indexes
from store.news import NewsStore
from trading.news import Headline, Tagger, headline

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
RETENTION = timedelta(days=30)
TAGGER = Tagger([("BTCUSDT", "BTC"), ("AAPL", None)])


@pytest.fixture
async def news(mongo_uri, db_name):
    client = await connect(mongo_uri)
    db = client[db_name]
    await ensure_indexes(db)
    yield NewsStore(db)
    await client.close()


def story(title: str, link: str, minutes_ago: int = 0) -> Headline:
    item = headline(title=title, summary="", link=link, guid=None, source="feed",
                    published_at=NOW - timedelta(minutes=minutes_ago), tagger=TAGGER)
    assert item is not None
    return item


async def test_a_story_is_stored_once_by_link_and_once_by_title(news):
    first = story("Bitcoin sets a record", "https://a.example/1")
    added = await news.add([first, story("Apple slips", "https://a.example/2", 5)], NOW,
                           RETENTION)
    assert [h.title for h in added] == ["Bitcoin sets a record", "Apple slips"]
    again = await news.add([
        story("Bitcoin sets a record (updated)", "https://www.a.example/1/?utm_medium=rss"),
        story("BITCOIN SETS A RECORD!", "https://b.example/copy"),
        story("Apple rebounds", "https://a.example/3", 1)], NOW, RETENTION)
    assert [h.title for h in again] == ["Apple rebounds"]
    page = await news.page(None, 10, None)
    assert [d["title"] for d in page] == ["Bitcoin sets a record", "Apple rebounds",
                                          "Apple slips"]
    assert page[0]["expires_at"] == NOW + RETENTION and page[0]["symbols"] == ["BTCUSDT"]


async def test_pages_walk_headlines_of_the_same_time_without_gaps_or_repeats(news):
    same_time = [story(f"Story number {n}", f"https://a.example/{n}") for n in range(7)]
    await news.add(same_time, NOW, RETENTION)
    seen, after = [], None
    for _ in range(5):
        page = await news.page(None, 3, after)
        seen += [d["_id"] for d in page]
        if len(page) < 3:
            break
        after = (page[-1]["published_at"], page[-1]["_id"])
    assert sorted(seen) == sorted(h.id for h in same_time) and len(seen) == 7


async def test_a_symbol_page_holds_only_its_headlines(news):
    await news.add([story("Bitcoin up", "https://a.example/b"),
                    story("AAPL down", "https://a.example/a", 1),
                    story("Weather", "https://a.example/w", 2)], NOW, RETENTION)
    assert [d["title"] for d in await news.page("AAPL", 10, None)] == ["AAPL down"]
    assert [d["title"] for d in await news.page("BTCUSDT", 10, None)] == ["Bitcoin up"]


async def test_a_feed_state_keeps_its_last_success_through_failures(news):
    await news.record("coindesk", NOW, None)
    await news.record("coindesk", NOW + timedelta(minutes=5), "HTTP 500")
    state = (await news.states())["coindesk"]
    assert (state.ok, state.last_success, state.error) == (False, NOW, "HTTP 500")
    assert state.last_attempt == NOW + timedelta(minutes=5)
    await news.record("coindesk", NOW + timedelta(minutes=6), None)
    state = (await news.states())["coindesk"]
    assert (state.ok, state.error) == (True, None)
