"""Fees and slippage per asset class (trading/fees.py): exact, rounded as money is kept."""

from decimal import Decimal as D

import pytest

from trading.assets import AssetClass
from trading.fees import (
    BpsFees,
    ClassFees,
    IndiaFees,
    Liquidity,
    PerShareFees,
    allocate,
    flat,
    liquidity_of,
    schedule_from,
    typical,
)
from trading.money import LARGEST
from trading.orders import OrderType, Side, TimeInForce
from trading.trades import AccountRules

MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
BUY, SELL = Side.BUY, Side.SELL


def test_binance_spot_charges_ten_bps_of_the_value_maker_or_taker():
    crypto = typical().of(AssetClass.CRYPTO)
    assert crypto.fee(BUY, D(65000), D("0.01"), TAKER) == D("0.65")
    assert crypto.fee(SELL, D(65000), D("0.01"), MAKER) == D("0.65")
    assert crypto.slippage_bps == D(5)


def test_maker_and_taker_rates_differ_when_configured():
    fees = ClassFees(BpsFees(maker_bps=D("7.5"), taker_bps=D(10)))
    assert fees.fee(BUY, D(2000), D(3), MAKER) == D("4.5")
    assert fees.fee(BUY, D(2000), D(3), TAKER) == D(6)


def test_a_fee_is_rounded_half_even_to_the_hundred_millionth():
    fees = ClassFees(BpsFees(D(10), D(10)))
    assert fees.fee(BUY, D("0.00000001"), D("0.000001"), TAKER) == D(0)  # 1e-17
    assert fees.fee(BUY, D("0.000005"), D(1), TAKER) == D(0)  # 0.000000005: to even
    assert fees.fee(BUY, D("0.000015"), D(1), TAKER) == D("0.00000002")
    assert fees.fee(BUY, D("123.45678901"), D("0.00123457"), TAKER) == D("0.00015242")


def test_the_largest_amounts_the_books_keep_are_charged_exactly():
    fees = ClassFees(BpsFees(D(10), D(10)))
    units = 2**63 - 1  # value x 10 bps, in 10^-8: units^2 x 10 / 10^12, half-even
    whole, rest = divmod(units * units * 10, 10**12)
    whole += rest > 10**12 // 2 or (rest == 10**12 // 2 and whole % 2)
    assert len(str(units * units * 10)) > 28  # beyond Decimal's default precision
    assert fees.fee(BUY, LARGEST, LARGEST, TAKER) == D(whole).scaleb(-8)


def test_alpaca_charges_no_commission_on_us_stocks_and_index_cfds():
    schedule = typical()
    for asset_class in (AssetClass.US_EQUITY, AssetClass.INDEX):
        assert schedule.fee(asset_class, BUY, D(190), D(100), TAKER) == D(0)
        assert schedule.slippage(asset_class) == D("0.0002")


@pytest.mark.parametrize(("price", "quantity", "fee"), [
    ("190", "10", "1"),             # 0.05 a share: the minimum
    ("190", "1000", "5"),           # 0.005 x 1000
    ("0.5", "1", "0.005"),          # the 1% cap wins over the minimum
    ("0.1", "1000000", "1000"),     # 5000 by the share, capped at 1% of 100000
    ("3", "0.5", "0.015"),          # a fractional share: the minimum, capped
])
def test_ibkr_like_per_share_fee_has_a_minimum_and_a_cap(price, quantity, fee):
    assert PerShareFees().charges(BUY, D(price), D(quantity), TAKER) == {"commission": D(fee)}


def test_per_share_without_a_cap_charges_the_minimum_however_small():
    fees = ClassFees(PerShareFees(D("0.01"), D(2), None))
    assert fees.fee(SELL, D("0.5"), D(1), MAKER) == D(2)
    assert fees.fee(SELL, D(10), D(1000), MAKER) == D(10)


def test_indian_charges_buy_side_pays_stamp_duty():
    charges = IndiaFees().charges(BUY, D(2900), D(10), TAKER)  # value 29000
    assert charges == {"brokerage": D("8.7"), "stt": D(0), "exchange": D("0.8613"),
                       "sebi": D("0.029"), "gst": D("1.726254"), "stamp_duty": D("0.87")}
    fees = ClassFees(IndiaFees())
    assert fees.fee(BUY, D(2900), D(10), TAKER) == D("12.186554")


def test_indian_charges_sell_side_pays_stt_and_brokerage_is_capped_per_order():
    fees = ClassFees(IndiaFees())
    assert fees.fee(SELL, D(2900), D(10), MAKER) == D("18.566554")
    charges = IndiaFees().charges(SELL, D(2900), D(1000), TAKER)  # value 2,900,000
    assert (charges["brokerage"], charges["stt"], charges["stamp_duty"]) == (
        D(20), D(725), D(0))
    assert charges["gst"] == ((D(20) + charges["exchange"] + charges["sebi"])
                              * D("0.18")).quantize(D("0.00000001"))


@pytest.mark.parametrize(("order_type", "tif", "marketable", "triggered", "liquidity"), [
    (OrderType.MARKET, TimeInForce.DAY, False, False, TAKER),
    (OrderType.LIMIT, TimeInForce.GTC, False, False, MAKER),   # rested until reached
    (OrderType.LIMIT, TimeInForce.DAY, True, False, TAKER),    # could fill when placed
    (OrderType.LIMIT, TimeInForce.IOC, False, False, TAKER),
    (OrderType.LIMIT, TimeInForce.FOK, True, False, TAKER),
    (OrderType.STOP, TimeInForce.GTC, False, True, TAKER),
    (OrderType.STOP_LIMIT, TimeInForce.GTC, False, False, TAKER),  # stop and limit at once
    (OrderType.STOP_LIMIT, TimeInForce.GTC, False, True, MAKER),   # rested after its stop
    (OrderType.TRAILING_STOP, TimeInForce.DAY, False, False, TAKER),
])
def test_who_makes_and_who_takes(order_type, tif, marketable, triggered, liquidity):
    assert liquidity_of(order_type, tif, marketable, triggered) == liquidity


def test_a_flat_commission_rate_is_every_class_maker_and_taker():
    schedule = flat(D("0.001"), D("0.0005"))
    for asset_class in AssetClass:
        assert schedule.of(asset_class) == ClassFees(BpsFees(D(10), D(10)), D(5))
        assert schedule.slippage(asset_class) == D("0.0005")


def test_account_rules_price_taker_fills_with_their_class_slippage():
    rules = AccountRules(fees=typical())
    assert rules.fill_price(BUY, D(100), AssetClass.CRYPTO) == D("100.05")
    assert rules.fill_price(BUY, D(100), AssetClass.US_EQUITY, opening=False) == D("99.98")
    assert rules.fee(AssetClass.IN_EQUITY, SELL, D(2900), D(10), TAKER) == D("18.566554")


@pytest.mark.parametrize(("total", "quantities", "shares"), [
    (100, [1, 1, 1], [33, 33, 34]),
    (7, [3, 0], [7, 0]),             # nothing opened: the lot closed takes it all
    (10, [2, 3, 0], [4, 6, 0]),
    (5, [0], [5]),
    (0, [4, 4], [0, 0]),
    (2**62, [1, 2**62], [0, 2**62]),
    (2**62, [2**61, 2**61], [2**61, 2**61]),
])
def test_a_fee_is_shared_exactly_by_what_an_order_closes_and_opens(total, quantities, shares):
    assert allocate(total, quantities) == shares
    assert sum(shares) == total


def test_a_json_schedule_sets_the_classes_it_names():
    schedule = schedule_from({
        "crypto": {"maker_bps": 2, "taker_bps": "5.5", "slippage_bps": D("1.5")},
        "us_equity": {"model": "per_share", "per_share": "0.0035", "min": "0.35",
                      "max_pct": None},
        "in_equity": {"model": "india", "brokerage_cap": 0}}, flat(D("0.001"), D(0)))
    assert schedule.of(AssetClass.CRYPTO) == ClassFees(BpsFees(D(2), D("5.5")), D("1.5"))
    assert schedule.of(AssetClass.US_EQUITY).model == PerShareFees(D("0.0035"), D("0.35"),
                                                                   None)
    assert schedule.of(AssetClass.IN_EQUITY).model == IndiaFees(brokerage_cap=D(0))
    assert schedule.of(AssetClass.INDEX) == ClassFees(BpsFees(D(10), D(10)))  # the default


def test_an_asset_shows_its_schedule_as_text():
    assert typical().of(AssetClass.CRYPTO).view() == {
        "fees": {"model": "bps", "maker_bps": "10", "taker_bps": "10"}, "slippage_bps": "5"}
    assert ClassFees(PerShareFees()).view()["fees"] == {
        "model": "per_share", "per_share": "0.005", "min": "1", "max_pct": "1"}
    assert typical().of(AssetClass.IN_EQUITY).view()["fees"]["exchange_bps"] == "0.297"


@pytest.mark.parametrize("config", [
    [], "typical", None, 3,
    {"forex": {"taker_bps": 1}},
    {"Crypto": {"taker_bps": 1}},
    {"crypto": []},
    {"crypto": {"taker_bps": -1}},
    {"crypto": {"taker_bps": float("nan")}},
    {"crypto": {"taker_bps": float("inf")}},
    {"crypto": {"taker_bps": "NaN"}},
    {"crypto": {"taker_bps": "1e3"}},
    {"crypto": {"taker_bps": D("1E+400")}},
    {"crypto": {"taker_bps": 10_000}},
    {"crypto": {"taker_bps": "9" * 400}},
    {"crypto": {"taker_bps": True}},
    {"crypto": {"taker_bps": None}},
    {"crypto": {"taker_bps": [1]}},
    {"crypto": {"taker_bps": {"$gt": 1}}},
    {"crypto": {"taker_bps": "\u0661\u0660"}},  # Arabic-Indic 10
    {"crypto": {"taker_bps": " 10"}},
    {"crypto": {"taker_bps": "0.000000001"}},
    {"crypto": {"slippage_bps": -0.5}},
    {"crypto": {"per_share": 1}},               # not a bps field
    {"crypto": {"model": "flat"}},
    {"crypto": {"model": None}},
    {"crypto": {"model": ["bps"]}},
    {"us_equity": {"model": "per_share", "max_pct": 0}},
    {"us_equity": {"model": "per_share", "max_pct": 101}},
    {"us_equity": {"model": "per_share", "min": 1_000_000}},
    {"in_equity": {"model": "india", "gst_pct": "100.5"}},
])
def test_a_schedule_that_makes_no_sense_is_refused_in_one_line(config):
    with pytest.raises(ValueError, match=r"^[^\n]+$"):
        schedule_from(config, flat(D(0), D(0)))

