"""The candle settings, read from the environment and checked."""

import pytest

from config.settings import CandleSettings, ConfigError, Settings


def test_candle_settings_come_from_the_environment():
    candles = Settings.from_env({
        "CANDLE_FLUSH_INTERVAL": "2.5", "CANDLE_BACKFILL": "false",
        "CANDLE_BACKFILL_TIMEOUT": "7", "CANDLE_BACKFILL_WAIT": "0",
        "BINANCE_REST_URL": "http://127.0.0.1:9/", "BINANCE_REST_MAX_RATE": "2",
        "SIM_HISTORY_DAYS": "5"}).market.candles
    assert candles == CandleSettings(flush_interval=2.5, backfill=False, backfill_timeout=7,
                                     backfill_wait=0, binance_rest_url="http://127.0.0.1:9/",
                                     binance_rest_rate=2, sim_history_days=5)
    assert Settings.from_env({}).market.candles == CandleSettings()


@pytest.mark.parametrize("env", [
    {"CANDLE_FLUSH_INTERVAL": "0"}, {"CANDLE_FLUSH_INTERVAL": "-1"},
    {"CANDLE_BACKFILL_TIMEOUT": "0"}, {"CANDLE_BACKFILL_WAIT": "-0.1"},
    {"BINANCE_REST_MAX_RATE": "0"}, {"SIM_HISTORY_DAYS": "0"}, {"SIM_HISTORY_DAYS": "31"},
    {"SIM_HISTORY_DAYS": "two"}, {"CANDLE_BACKFILL": "maybe"},
    {"CANDLE_FLUSH_INTERVAL": "1e999999"}, {"CANDLE_FLUSH_INTERVAL": "nan"},
    {"CANDLE_BACKFILL_WAIT": "61"}, {"BINANCE_REST_MAX_RATE": "inf"}])
def test_candle_settings_that_cannot_work_are_refused_in_one_line(env):
    with pytest.raises(ConfigError):
        Settings.from_env(env)
