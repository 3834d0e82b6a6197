"""Headlines: symbol tagging, deduplication keys, sanitising, feed parsing, settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from config.settings import DEFAULT_SYMBOLS, ConfigError, NewsSettings, Settings, news_feeds
from feeds.news import NewsError, parse, retry_after
from services.news import freshness
from store.news import SourceState
from tests.news_feeds import Story, atom, rss
from trading.market import Universe
from trading.news import (
    MAX_SUMMARY,
    MAX_TITLE,
    Tagger,
    headline,
    link_key,
    plain_text,
    safe_link,
    title_key,
)

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    universe = Universe.parse(DEFAULT_SYMBOLS)
    return Tagger((i.symbol, i.rules.base_asset) for i in universe.instruments.values())


def item(tagger: Tagger, title: str, link: str | None = "https://news.example/a",
         summary: str = "", guid: str | None = None):  # type: ignore[no-untyped-def]
    return headline(title=title, summary=summary, link=link, guid=guid, source="test",
                    published_at=NOW, tagger=tagger)


# -- tagging -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "symbols"), [
    ("Bitcoin tops $70,000 as ETH lags", ("BTCUSDT", "ETHUSDT")),
    ("bitcoin ETF flows slow", ("BTCUSDT",)),
    ("BTC/USDT breaks out; BTCUSDT perpetuals follow", ("BTCUSDT",)),
    ("$SOL rallies while Solana's fees fall", ("SOLUSDT",)),
    ("Apple and Microsoft report earnings", ("AAPL", "MSFT")),
    ("AAPL slips premarket", ("AAPL",)),
    ("Reliance Industries leads the Nifty 50 higher", ("RELIANCE.NS", "^NSEI")),
    ("Ether staking yields climb", ("ETHUSDT",)),
])
def test_headlines_are_tagged_with_the_symbols_they_mention(tagger, text, symbols):
    assert tagger.symbols(text) == symbols


@pytest.mark.parametrize("text", [
    "A solution for the console",            # SOL inside a word
    "Sol, the sun god, rises",              # SOL's ticker only in capitals
    "An apple a day; microsoftish tooling",  # names as written, whole words
    "The IT sector and ALL markets",         # no such symbols configured
    "ETHICS and BTCX are other things",      # tickers only as whole words
    "bitcoinist.com writes",                 # a name inside a longer word
])
def test_words_that_merely_contain_a_ticker_or_name_are_not_tagged(tagger, text):
    assert tagger.symbols(text) == ()


def test_the_summary_counts_for_tagging_too(tagger):
    found = item(tagger, "Markets today", summary="<p>Apple shares rose.</p>")
    assert found is not None and found.symbols == ("AAPL",)


# -- deduplication keys ------------------------------------------------------------

def test_the_same_story_under_tracking_parameters_and_case_has_one_key(tagger):
    one = item(tagger, "Story", "https://www.coindesk.com/markets/story/?utm_source=rss#top")
    two = item(tagger, "Story (updated)", "HTTPS://coindesk.com/markets/story")
    assert one is not None and two is not None and one.id == two.id
    assert link_key("https://x.com/a?b=2&a=1") == link_key("https://x.com/a?a=1&b=2")


def test_the_same_title_from_two_feeds_has_one_title_key(tagger):
    one = item(tagger, "Bitcoin — hits a record!", "https://a.example/1")
    two = item(tagger, "<b>bitcoin hits a RECORD</b>", "https://b.example/2")
    assert one is not None and two is not None
    assert one.id != two.id and one.title_key == two.title_key
    assert title_key("Bitcoin — hits a record!") == "bitcoin hits a record"


def test_without_a_link_the_guid_and_then_the_title_make_the_key(tagger):
    by_guid = item(tagger, "A", link=None, guid="urn:story:1")
    same_guid = item(tagger, "B", link="javascript:void(0)", guid="urn:story:1")
    by_title = item(tagger, "Only a title", link=None)
    assert by_guid is not None and same_guid is not None and by_title is not None
    assert by_guid.id == same_guid.id and by_guid.link is None and same_guid.link is None
    assert by_title.id != by_guid.id


# -- sanitising --------------------------------------------------------------------

def test_scripts_styles_and_tags_are_dropped_and_entities_decoded():
    text = plain_text('<p>Fed &amp; <b>rates</b><script>alert("x")</script>'
                      "<style>p{color:red}</style> &lt;i&gt;now&lt;/i&gt; &#8364;5 &eacute;</p>",
                      200)
    assert text == "Fed & rates now €5 é"


def test_a_title_made_only_of_markup_is_no_headline(tagger):
    assert item(tagger, "<script>alert(1)</script><img src=x onerror=alert(1)>") is None


def test_invisible_and_control_characters_are_removed():
    assert plain_text("Bit\u202ecoin\u200b up\x00\x07 now", 100) == "Bitcoin up now"


def test_deeply_nested_markup_is_read_without_recursion():
    assert plain_text("<div><span>" * 5_000 + "deep" + "</span></div>" * 5_000, 100) == "deep"
    # Past the markup read at most, no half tag is left as text.
    assert plain_text("<div><span>" * 50_000 + "deep", 100) == ""


def test_huge_and_non_ascii_titles_are_cut_to_the_limit(tagger):
    found = item(tagger, "比特币 " * 10_000, summary="ünïcødé " * 10_000)
    assert found is not None
    assert len(found.title) <= MAX_TITLE and found.title.endswith("…")
    assert found.title.startswith("比特币 比特币")
    assert len(found.summary) <= MAX_SUMMARY and found.summary.startswith("ünïcødé")


@pytest.mark.parametrize("link", [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>",
    "//evil.example/x", "/relative", "https://exa mple.com/", "https://x.com/\x00",
    "ftp://x.com/file", "https://", "https://x.com:port/", "vbscript:msgbox",
    "https://x.com/" + "a" * 3000,
])
def test_only_absolute_http_links_are_kept(link):
    assert safe_link(link) is None


def test_http_and_https_links_are_kept_as_they_are():
    assert safe_link(" https://x.com/a?b=1#c ") == "https://x.com/a?b=1#c"
    assert safe_link("http://x.com") == "http://x.com"


# -- parsing feeds ------------------------------------------------------------------

def test_rss_and_atom_payloads_give_their_entries():
    stories = [Story("Bitcoin <b>up</b>", "https://a.example/1", NOW, "<p>Hi &amp; bye</p>")]
    for body in (rss(stories), atom(stories)):
        entries = parse(body)
        assert len(entries) == 1 and entries[0]["link"] == "https://a.example/1"


@pytest.mark.parametrize("body", [
    b"<html><body><h1>Just a moment...</h1></body></html>", b"", b"\x00\xff" * 100,
    b"<?xml version='1.0'?><rss><channel><item><title>broken &bogus; <<<</titl></chan",
    b'{"not": "a feed"}'])
def test_what_is_not_a_feed_is_refused(body):
    with pytest.raises(NewsError):
        parse(body)


def test_retry_after_is_seconds_capped_and_a_date_is_a_minute():
    assert retry_after("2") == 2.0 and retry_after("99999") == 3600.0
    assert retry_after("Wed, 21 Oct 2026 07:28:00 GMT") == 60.0 and retry_after(None) is None


# -- settings ------------------------------------------------------------------------

def test_news_feeds_are_read_as_names_and_urls():
    settings = Settings.from_env({"NEWS_FEEDS": " CoinDesk=https://c.example/rss , "
                                                "b=http://b.example/feed",
                                  "NEWS_POLL_INTERVAL": "60", "NEWS_ENABLED": "no"})
    assert settings.news.feeds == (("coindesk", "https://c.example/rss"),
                                   ("b", "http://b.example/feed"))
    assert settings.news.poll_interval == 60 and not settings.news.enabled
    assert [name for name, _ in Settings().news.feeds] == ["coindesk", "cointelegraph", "yahoo"]


@pytest.mark.parametrize("raw", ["coindesk", "a=ftp://x", "a=javascript:alert(1)",
                                 "a=https://x,a=https://y", "bad name=https://x",
                                 ",".join(f"f{i}=https://x/{i}" for i in range(21))])
def test_bad_news_feeds_are_refused(raw):
    with pytest.raises(ConfigError):
        news_feeds(raw)


# -- freshness ----------------------------------------------------------------------

def test_headlines_are_stale_when_a_feed_failed_was_not_fetched_lately_or_never():
    settings = NewsSettings(poll_interval=60)
    recent, old = NOW - timedelta(seconds=30), NOW - timedelta(minutes=10)
    states = {"a": SourceState("a", True, recent, recent, None),
              "b": SourceState("b", False, old, recent, "HTTP 500"),
              "c": SourceState("c", True, old, old, None)}
    stale, shown = freshness(["a"], states, settings, NOW)
    assert not stale and shown == [{"name": "a", "ok": True,
                                    "last_success": "2026-12-07T11:59:30Z"}]
    stale, shown = freshness(["a", "b", "c", "d"], states, settings, NOW)
    assert stale and [(s["ok"], s.get("error")) for s in shown] == [
        (True, None), (False, "HTTP 500"), (False, "not fetched recently"),
        (False, "not fetched yet")]
    stale, shown = freshness(["a"], states, replace(settings, enabled=False), NOW)
    assert stale and shown[0]["error"] == "news fetching is off" and not shown[0]["ok"]
