"""FEE_SCHEDULE, COMMISSION_RATE and SLIPPAGE_RATE read from the environment and checked."""

import json
from decimal import Decimal as D

import pytest

from config.settings import ConfigError, Settings
from trading.assets import AssetClass
from trading.fees import BpsFees, ClassFees, PerShareFees, typical


def test_without_a_schedule_the_commission_and_slippage_rates_apply_to_every_class():
    trading = Settings.from_env({"COMMISSION_RATE": "0.001", "SLIPPAGE_RATE": "0.0002"}).trading
    assert trading.fees is None
    for asset_class in AssetClass:
        assert trading.schedule.of(asset_class) == ClassFees(BpsFees(D(10), D(10)), D(2))
    assert Settings.from_env({}).trading.schedule.of(AssetClass.CRYPTO) == ClassFees(
        BpsFees())


def test_typical_is_binance_alpaca_and_zerodha():
    assert Settings.from_env({"FEE_SCHEDULE": "typical"}).trading.schedule == typical()
    assert Settings.from_env({"FEE_SCHEDULE": " Typical "}).trading.fees == typical()


def test_a_json_schedule_overrides_the_classes_it_names():
    schedule = Settings.from_env({
        "COMMISSION_RATE": "0.0005",
        "FEE_SCHEDULE": json.dumps({
            "crypto": {"maker_bps": 1.5, "taker_bps": "4", "slippage_bps": 3},
            "us_equity": {"model": "per_share", "per_share": 0.005, "min": 1, "max_pct": 1}}),
    }).trading.schedule
    assert schedule.of(AssetClass.CRYPTO) == ClassFees(BpsFees(D("1.5"), D(4)), D(3))
    assert schedule.of(AssetClass.US_EQUITY).model == PerShareFees(D("0.005"), D(1), D(1))
    assert schedule.of(AssetClass.INDEX) == ClassFees(BpsFees(D(5), D(5)))


@pytest.mark.parametrize("env", [
    {"FEE_SCHEDULE": "{"},
    {"FEE_SCHEDULE": "binance"},
    {"FEE_SCHEDULE": "[]"},
    {"FEE_SCHEDULE": "null"},
    {"FEE_SCHEDULE": '{"crypto": {"taker_bps": NaN}}'},
    {"FEE_SCHEDULE": '{"crypto": {"taker_bps": Infinity}}'},
    {"FEE_SCHEDULE": '{"crypto": {"taker_bps": -1}}'},
    {"FEE_SCHEDULE": '{"crypto": {"taker_bps": 1e999999}}'},
    {"FEE_SCHEDULE": '{"crypto": {"taker_bps": ' + "9" * 5000 + "}}"},
    {"FEE_SCHEDULE": '{"crypto": {"taker_bps": 10000}}'},
    {"FEE_SCHEDULE": '{"stocks": {"taker_bps": 1}}'},
    {"FEE_SCHEDULE": '{"crypto": {"taker": 1}}'},
    {"FEE_SCHEDULE": '{"crypto": {"model": "india", "maker_bps": 1}}'},
    {"FEE_SCHEDULE": '{"crypto": ' * 2000 + "1" + "}" * 2000},
    {"FEE_SCHEDULE": "[" * 1500 + "]" * 1500},
    {"FEE_SCHEDULE": '{"crypto": {"taker_bps": 1}, "crypto\\u0000": {}}'},
    {"COMMISSION_RATE": "NaN"}, {"COMMISSION_RATE": "sNaN"}, {"SLIPPAGE_RATE": "-0.001"},
    {"SLIPPAGE_RATE": "1"}, {"COMMISSION_RATE": "1e999"}, {"COMMISSION_RATE": "ten"},
    {"COMMISSION_RATE": "NaN", "FEE_SCHEDULE": "{}"},
])
def test_a_fee_setting_that_cannot_work_is_refused_in_one_line(env):
    with pytest.raises(ConfigError) as refused:
        Settings.from_env(env)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 300
    assert any(name in message for name in env)
