"""Parsing the intelligence sources' payloads, the fund file, and the recommendation and
screening rules (no I/O)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from config.funds import load_funds, parse_funds
from config.intel import IntelSettings
from config.settings import ConfigError, Settings
from feeds.intel import SourceError, parse_cnn, parse_fng, parse_markets, retry_after
from trading.intel import (
    Action,
    Backing,
    IndexSeries,
    Reading,
    Sort,
    Thresholds,
    Token,
    classify,
    recommend,
    screen,
)

NOW = datetime(2026, 12, 7, 12, tzinfo=UTC)


def row(**fields: object) -> dict[str, object]:
    return {"id": "bitcoin", "symbol": "btc", "name": "Bitcoin", "current_price": 97000.5,
            "market_cap": 1.9e12, "market_cap_rank": 1, "total_volume": 3.0e10,
            "price_change_percentage_24h": -1.5, **fields}


def test_markets_rows_become_tokens_with_exact_decimals():
    [token] = parse_markets([row()])
    assert token == Token("bitcoin", "btc", "Bitcoin", Decimal("97000.5"),
                          Decimal("1.9E+12"), Decimal("3.0E+10"), Decimal("-1.5"), 1)


def test_malformed_market_rows_are_dropped_and_the_rest_kept():
    tokens = parse_markets([None, [], {"id": "x"}, row(current_price="NaN"),
                            row(current_price=float("inf")), row(market_cap=-1),
                            row(name=7), row(name="\x00\x01"), row(current_price=True),
                            row(market_cap=1e40), row(price_change_percentage_24h=1e9),
                            row(id="ok", market_cap=None, total_volume=None,
                                price_change_percentage_24h=None, market_cap_rank="1"),
                            row(id="ok")])  # a second row of one id is dropped
    assert [(t.id, t.market_cap, t.change_24h, t.rank) for t in tokens] == [
        ("ok", Decimal(0), None, None)]


def test_names_lose_control_characters_and_keep_other_scripts():
    [token] = parse_markets([row(name="中文\u200b币\n" + "x" * 300)])
    assert token.name.startswith("中文币") and len(token.name) == 100


@pytest.mark.parametrize("payload", [{}, "[]", [None], [{"id": 1}], None])
def test_markets_with_no_usable_row_are_refused(payload):
    with pytest.raises(SourceError):
        parse_markets(payload)


def test_the_crypto_index_is_read_newest_first_with_its_bands():
    series = parse_fng({"data": [
        {"value": "40", "value_classification": "Fear", "timestamp": "1765065600"},
        {"value": "80", "value_classification": "unknown band", "timestamp": "1764979200"},
        {"value": "101", "value_classification": "Greed", "timestamp": "1764892800"},
        {"value": "50", "timestamp": "not a time"}], "metadata": {"error": None}})
    assert series.latest.value == 40 and series.latest.classification == "Fear"
    assert [r.classification for r in series.history] == ["Fear", "Extreme Greed"]
    assert series.latest.at == datetime(2025, 12, 7, tzinfo=UTC)


@pytest.mark.parametrize("payload", [[], {"data": "x"}, {"data": []},
                                     {"data": [{"value": "1"}], "metadata": {"error": "bad"}}])
def test_crypto_index_answers_without_a_reading_are_refused(payload):
    with pytest.raises(SourceError):
        parse_fng(payload)


def test_cnns_index_is_read_with_its_history():
    series = parse_cnn({
        "fear_and_greed": {"score": 62.45714, "rating": "greed",
                           "timestamp": "2026-12-07T12:00:00+00:00"},
        "fear_and_greed_historical": {"data": [
            {"x": 1765065600000.0, "y": 20.0, "rating": "extreme fear"},
            {"x": "soon", "y": 20.0}, {"x": 1765065600000.0, "y": -3}]}})
    assert (series.latest.value, series.latest.classification) == (Decimal("62.5"), "Greed")
    assert [r.classification for r in series.history] == ["Greed", "Extreme Fear"]


@pytest.mark.parametrize("payload", [{}, {"fear_and_greed": {"rating": "greed"}},
                                     {"fear_and_greed": {"score": 50, "timestamp": "x"}}, []])
def test_cnn_answers_without_a_current_reading_are_refused(payload):
    with pytest.raises(SourceError):
        parse_cnn(payload)


def test_retry_after_is_bounded():
    assert retry_after("30") == 30 and retry_after(None) == 60
    assert retry_after("Wed, 21 Oct 2026 07:28:00 GMT") == 60
    assert retry_after("1e9") == 3600 and retry_after("-5") == 60 and retry_after("nan") == 60


@pytest.mark.parametrize(("value", "band"), [(0, "Extreme Fear"), (24.9, "Extreme Fear"),
                                             (25, "Fear"), (44.9, "Fear"), (45, "Neutral"),
                                             (55.9, "Neutral"), (56, "Greed"),
                                             (75.9, "Greed"), (76, "Extreme Greed"),
                                             (100, "Extreme Greed")])
def test_index_bands(value, band):
    assert classify(Decimal(str(value))) == band


@pytest.mark.parametrize(("value", "action"), [("44.9", Action.BUY), ("45", Action.HOLD),
                                               ("55", Action.HOLD), ("55.1", Action.SELL),
                                               ("0", Action.BUY), ("100", Action.SELL)])
def test_recommendation_thresholds(value, action):
    reading = Reading(Decimal(value), classify(Decimal(value)), NOW)
    got, reason = recommend("crypto", reading, Thresholds())
    assert got is action
    assert reason.startswith(f"The crypto Fear & Greed Index is {value} (")


def test_thresholds_are_configurable_and_checked():
    reading = Reading(Decimal(30), "Fear", NOW)
    assert recommend("stocks", reading, Thresholds(Decimal(20), Decimal(25)))[0] is Action.SELL
    with pytest.raises(ValueError):
        Thresholds(Decimal(60), Decimal(40))


@pytest.mark.parametrize("value", ["-1", "100.1", "NaN"])
def test_readings_outside_0_to_100_are_refused(value):
    with pytest.raises(ValueError):
        Reading(Decimal(value), "Fear", NOW)


def token(id_: str, cap: int, volume: int, change: str | None) -> Token:
    return Token(id_, id_, id_, Decimal(1), Decimal(cap), Decimal(volume),
                 None if change is None else Decimal(change), None)


def test_screen_filters_by_market_cap_and_fund_and_sorts():
    tokens = [token("a", 300, 1, "-5"), token("b", 200, 9, None), token("c", 100, 5, "3"),
              token("d", 50, 99, "99")]
    funds = {"b": [Backing("Pantera Capital", "https://x.test")],
             "c": [Backing("Pantera Capital", "https://x.test")]}
    ids = [t.id for t in screen(tokens, min_market_cap=Decimal(100), sort=Sort.MARKET_CAP,
                                backed_by=None, funds=funds, limit=10)]
    assert ids == ["a", "b", "c"]
    by_change = screen(tokens, min_market_cap=Decimal(0), sort=Sort.CHANGE_24H,
                       backed_by=None, funds=funds, limit=10)
    assert [t.id for t in by_change] == ["d", "c", "a", "b"]
    backed = screen(tokens, min_market_cap=Decimal(0), sort=Sort.VOLUME,
                    backed_by="PANTERA capital", funds=funds, limit=1)
    assert [t.id for t in backed] == ["b"]


def test_index_history_since_a_moment():
    readings = [Reading(Decimal(v), "Fear", NOW.replace(day=7 - n)) for n, v in enumerate(
        [30, 31, 32])]
    series = IndexSeries(readings[0], tuple(readings))
    assert [r.value for r in series.since(NOW.replace(day=6, hour=0))] == [30, 31]


def test_the_shipped_fund_file_is_valid_and_names_its_sources():
    funds = load_funds(IntelSettings().funds_file)
    assert "solana" in funds
    assert all(b.source.startswith("https://") for entries in funds.values() for b in entries)


@pytest.mark.parametrize(("data", "words"), [
    ([], "'tokens' object"), ({"tokens": []}, "'tokens' object"),
    ({"tokens": {"Bad Id": {"funds": [{"fund": "A", "source": "https://a.test"}]}}},
     "CoinGecko id"),
    ({"tokens": {"a": {"funds": []}}}, "1 to 100 entries"),
    ({"tokens": {"a": {"funds": [{"fund": "", "source": "https://a.test"}]}}}, "'fund'"),
    ({"tokens": {"a": {"funds": [{"fund": "A", "source": "javascript:x"}]}}}, "'source'"),
    ({"tokens": {"a": {"funds": ["A"]}}}, "each fund is an object"),
    ({"tokens": {"a": {"symbol": 1, "funds": [{"fund": "A", "source": "https://a"}]}}},
     "'symbol'"),
])
def test_a_bad_fund_file_is_refused_with_the_place(data, words):
    with pytest.raises(ConfigError, match=words):
        parse_funds(data, "f.json")


def test_an_unreadable_fund_file_stops_the_start(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot be read"):
        load_funds(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"tokens": ')
    with pytest.raises(ConfigError, match="not JSON"):
        load_funds(broken)
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"tokens": {"x": {"funds": [{"fund": "F",
                                                             "source": "https://f.test/x"}]}}}))
    assert load_funds(good) == {"x": [Backing("F", "https://f.test/x")]}


def test_intel_settings_from_the_environment():
    intel = Settings.from_env({"INTEL_SOURCES": "fng, cnn", "COINGECKO_URL": "http://cg/",
                               "RECOMMEND_BUY_BELOW": "30", "RECOMMEND_SELL_ABOVE": "70",
                               "SCREENER_MIN_MARKET_CAP": "5e8"}).intel
    assert intel.sources == ("fng", "cnn") and intel.coingecko_url == "http://cg"
    assert (intel.buy_below, intel.sell_above) == (Decimal(30), Decimal(70))
    assert intel.min_market_cap == Decimal("5e8")
    assert Settings.from_env({"INTEL_SOURCES": "none"}).intel.sources == ()
    assert Settings.from_env({}).intel.sources == ("coingecko", "fng", "cnn")


@pytest.mark.parametrize("env", [{"INTEL_SOURCES": "coingecko,twitter"},
                                 {"RECOMMEND_BUY_BELOW": "60"},
                                 {"RECOMMEND_SELL_ABOVE": "101"},
                                 {"SCREENER_REFRESH": "1"}, {"SCREENER_TOKENS": "0"},
                                 {"SCREENER_MIN_MARKET_CAP": "-1"},
                                 {"SCREENER_MIN_MARKET_CAP": "NaN"}])
def test_bad_intel_settings_are_refused(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env)


def test_the_server_does_not_start_with_a_bad_fund_file(tmp_path: Path):
    from server.app import create_app

    bad = tmp_path / "funds.json"
    bad.write_text(json.dumps({"tokens": {"solana": {"funds": [{"fund": "A"}]}}}))
    with pytest.raises(ConfigError, match=r"tokens\.solana\.funds\[0\]: 'source'"):
        create_app(Settings(data_dir=tmp_path, intel=IntelSettings(funds_file=bad)))
