"""GET /api/v1/predict/{symbol}: a forecast of stored candles, its cache, its one fit
per key however many ask, its refusals."""

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest

from config.settings import ForecastSettings
from handlers import keys
from trading.candles import Candle
from trading.forecast import MIN_HISTORY


def trending(count: int, end: int, seconds: int = 60, seed: int = 3) -> list[Candle]:
    """count closed candles of a rising price with noise, the last starting at end."""
    rng = np.random.default_rng(seed)
    closes = 100 * np.exp(0.0005 * np.arange(count) + rng.normal(0, 0.001, count))
    return [Candle(end - seconds * (count - 1 - n), Decimal(f"{close:.2f}"),
                   Decimal(f"{close + 0.05:.2f}"), Decimal(f"{close - 0.05:.2f}"),
                   Decimal(f"{close:.2f}"), 5) for n, close in enumerate(closes)]


def current_minute(api) -> int:
    return int(api.app[keys.CLOCK]().timestamp()) // 60 * 60


async def store(api, count: int, symbol: str = "AAPL", timeframe: str = "1m",
                seconds: int = 60) -> list[Candle]:
    """count closed candles ending with the period before the current one."""
    now = int(api.app[keys.CLOCK]().timestamp()) // seconds * seconds
    bars = trending(count, now - seconds, seconds)
    await api.app[keys.STORE].candles.insert_history(symbol, timeframe, bars)
    return bars


async def predict(api, symbol="AAPL", **params):
    return await api.call("GET", f"/api/v1/predict/{symbol}",
                          params={k: str(v) for k, v in params.items()})


async def test_a_forecast_of_stored_candles_with_its_bands_backtest_and_disclaimer(api):
    bars = await store(api, 300)
    status, body = await predict(api, horizon=30, timeframe="1m")
    assert status == 200, body
    assert set(body) == {"symbol", "timeframe", "horizon", "generated_at", "last_close",
                         "model", "points", "backtest", "disclaimer"}
    assert (body["symbol"], body["timeframe"], body["horizon"]) == ("AAPL", "1m", 30)
    assert body["last_close"] == str(bars[-1].close.normalize())
    assert body["disclaimer"].startswith("Not investment advice")
    assert body["model"]["name"] in ("ETS(A,A,N)", "ETS(A,Ad,N)")
    assert body["model"]["observations"] == 300 and body["model"]["on"] == "log close"
    assert "alpha" in body["model"]["params"]
    points = body["points"]
    assert [p["t"] for p in points] == [(bars[-1].start + 60 * k) * 1000 for k in range(1, 31)]
    for point in points:
        prices = [Decimal(point[name]) for name in ("lo95", "lo80", "mean", "hi80", "hi95")]
        assert prices == sorted(prices) and prices[0] > 0
        assert all(price == price.quantize(Decimal("0.01")) for price in prices)  # AAPL's tick
    backtest = body["backtest"]
    assert backtest["origins"] == 5 and backtest["horizon"] == 30
    assert Decimal(backtest["mase"]) < 1 < Decimal(backtest["naive_mase"])
    assert Decimal(backtest["mape"]) < Decimal(backtest["naive_mape"])
    assert backtest["beats_naive"] is True
    # The same fit answers another horizon.
    status, longer = await predict(api, horizon=500)
    assert status == 200 and len(longer["points"]) == 500
    assert longer["generated_at"] == body["generated_at"]
    assert longer["backtest"]["horizon"] == 60  # a fifth of the closes, at most
    assert api.app[keys.FORECASTS].fits == 1


async def test_the_forecast_is_kept_until_a_newer_candle_closes(api, later):
    await store(api, 200)
    forecaster = api.app[keys.FORECASTS]
    first = (await predict(api))[1]
    assert (await predict(api))[1]["generated_at"] == first["generated_at"]
    # The minute ends with a candle closed in it: the next request refits.
    later(minutes=1)
    await api.app[keys.STORE].candles.insert_history("AAPL", "1m", [
        Candle(current_minute(api) - 60, Decimal(110), Decimal(110), Decimal(110),
               Decimal(110), 1)])
    refitted = (await predict(api))[1]
    assert refitted["generated_at"] != first["generated_at"]
    assert refitted["last_close"] == "110" and refitted["model"]["observations"] == 201
    assert forecaster.fits == 2
    # A minute in which no candle closed (a market that is shut): the same fit serves.
    later(minutes=1)
    assert (await predict(api))[1]["generated_at"] == refitted["generated_at"]
    assert forecaster.fits == 2


async def test_concurrent_requests_for_the_same_forecast_share_one_fit(api):
    await store(api, 150, timeframe="5m", seconds=300)
    answers = await asyncio.gather(*(predict(api, timeframe="5m", horizon=h)
                                     for h in range(1, 9)))
    assert [status for status, _ in answers] == [200] * 8
    assert len({body["generated_at"] for _, body in answers}) == 1
    assert [len(body["points"]) for _, body in answers] == list(range(1, 9))
    assert api.app[keys.FORECASTS].fits == 1


async def test_too_little_history_is_refused_with_how_much_there_is(api):
    await store(api, MIN_HISTORY - 1)
    status, body = await predict(api)
    assert status == 422
    assert body["error"]["code"] == "insufficient_history"
    assert body["error"]["details"] == {"candles": MIN_HISTORY - 1, "needed": MIN_HISTORY}
    assert "needs at least 100 closed candles; there are 99" in body["error"]["message"]
    status, body = await predict(api, timeframe="1h")
    assert status == 422 and body["error"]["details"]["candles"] == 0
    assert api.app[keys.FORECASTS].fits == 0


@pytest.mark.parametrize("query", [
    "horizon=0", "horizon=501", "horizon=-5", "horizon=NaN", "horizon=1e2", "horizon=2.5",
    "horizon=%D9%A3", "horizon=99999999999999999999999999", "horizon=", "horizon=10&horizon=20",
    "timeframe=2m", "timeframe=1M", "timeframe=1m&timeframe=1m", "timeframe=%E2%80%8B1m",
    "interval=5m&timeframe=1m"])
async def test_hostile_parameters_are_refused_naming_the_field(api, query):
    response = await api.client.get(f"/api/v1/predict/AAPL?{query}")
    body = await response.json()
    assert response.status == 400, body
    assert body["error"]["code"] == "validation_error"
    assert body["error"]["details"]["field"] in ("horizon", "timeframe", "interval")
    assert api.app[keys.FORECASTS].fits == 0


async def test_an_unknown_symbol_is_not_found(api):
    for symbol in ("NOPE", "%C3%84PPL", "A" * 300):
        response = await api.client.get(f"/api/v1/predict/{symbol}")
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "unknown_symbol"


async def test_fits_past_the_cap_are_refused_until_one_ends(servers, settings):
    api = await servers.start(replace(settings, forecast=ForecastSettings(workers=1,
                                                                          max_fits=1)))
    await store(api, 150, symbol="AAPL")
    await store(api, 150, symbol="BTCUSDT")
    answers = await asyncio.gather(predict(api, "AAPL"), predict(api, "BTCUSDT"))
    assert sorted(status for status, _ in answers) == [200, 503]
    refused = next(body for status, body in answers if status == 503)
    assert refused["error"]["code"] == "unavailable"
    assert "as many forecasts as it takes at once (1)" in refused["error"]["message"]
    # The fit ended: the other is taken now.
    assert all([(await predict(api, symbol))[0] == 200 for symbol in ("AAPL", "BTCUSDT")])
    assert api.app[keys.FORECASTS].fits == 2


async def test_settings_refuse_a_cap_below_the_workers():
    from config.settings import ConfigError, Settings
    with pytest.raises(ConfigError, match="FORECAST_MAX_FITS"):
        Settings.from_env({"FORECAST_WORKERS": "4", "FORECAST_MAX_FITS": "2"})
    assert Settings.from_env({"FORECAST_WINDOW": "300"}).forecast.window == 300
    assert timedelta(seconds=Settings().forecast.fit_timeout) == timedelta(seconds=30)
