"""Currency conversion (trading/fx.py): routes through configured FX pairs, exact
rounding to 10^-8, and amounts the books cannot keep refused."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from trading.assets import AssetClass, Exchange, fx_pair, rules_for
from trading.errors import AmountOutOfRange
from trading.fx import IDENTITY, Conversion, FxRoute, convert, find_route, settles_as
from trading.money import LARGEST, to_units
from trading.orders import Side
from trading.positions import exit_lot
from trading.trades import CloseReason

D = Decimal
UNIVERSE = {"BTCUSDT", "RELIANCE.NS", "USDINR", "EURUSD", "GBPUSD=X", "ETHBTC"}


@pytest.mark.parametrize(("currency", "account", "route"), [
    ("USD", "USD", FxRoute("USD", None, same=True)),
    ("USDT", "USD", FxRoute("USDT", None)),
    ("FDUSD", "USD", FxRoute("FDUSD", None)),
    ("INR", "USD", FxRoute("INR", "USDINR", invert=True)),
    ("EUR", "USD", FxRoute("EUR", "EURUSD")),
    ("GBP", "USD", FxRoute("GBP", "GBPUSD=X")),
    ("BTC", "USD", FxRoute("BTC", "BTCUSDT")),
    ("USD", "INR", FxRoute("USD", "USDINR")),
    ("USDT", "INR", FxRoute("USDT", "USDINR")),
    ("JPY", "USD", None),
    ("INR", "EUR", None),
])
def test_a_quote_currency_finds_its_route_through_a_configured_pair(currency, account, route):
    assert find_route(currency, account, UNIVERSE) == route


@pytest.mark.parametrize(("amount", "rate", "invert", "expected"), [
    ("1000", "83.25", True, "12.01201201"),     # 12.012012012...: rounded down
    ("-1000", "83.25", True, "-12.01201201"),    # losses round the same way
    ("2", "3", True, "0.66666667"),              # ...6667: rounded up
    ("0.00000001", "83.25", True, "0"),          # less than half a unit is nothing
    ("0.00000005", "0.1", False, "0.00000000"),  # exactly half rounds to even (0)
    ("0.00000015", "0.1", False, "0.00000002"),  # exactly half rounds to even (2)
    ("100", "1.0851", False, "108.51"),
    ("0.00000001", "0.00000001", True, "1"),     # the tiniest amount at the tiniest rate
])
def test_conversion_rounds_half_to_even_at_ten_to_the_minus_eight(amount, rate, invert,
                                                                  expected):
    assert convert(D(amount), D(rate), invert) == D(expected)


def test_huge_amounts_convert_exactly_and_past_the_books_are_refused_when_stored():
    largest = convert(LARGEST, D(1), False)
    assert largest == LARGEST and to_units(largest) == 2**63 - 1
    # 92 billion INR is about 1.1 billion USD: ...97955264 and 316/333 units, rounded up.
    assert convert(LARGEST, D("83.25"), True) == D("1107912556.97955265")
    too_big = convert(LARGEST, D("83.25"), False)
    with pytest.raises(AmountOutOfRange):
        to_units(too_big)


@pytest.mark.parametrize("rate", ["0", "-1", "NaN", "Infinity"])
def test_a_rate_that_is_not_positive_and_finite_is_refused(rate):
    with pytest.raises(ValueError, match="positive"):
        convert(D(1), D(rate), True)


def test_a_conversion_records_what_it_did_and_is_read_back_from_it():
    fx = Conversion(FxRoute("INR", "USDINR", invert=True), D("83.25"))
    record = fx.record()
    assert record == {"currency": "INR", "fx_pair": "USDINR", "fx_invert": True,
                      "fx_rate": 8_325_000_000}
    assert Conversion.recorded(record) == fx
    assert Conversion.recorded({"entry_fx_rate": 8_325_000_000, "currency": "INR",
                                "fx_pair": "USDINR", "fx_invert": True},
                               "entry_fx_rate") == fx
    same = Conversion(FxRoute("USD", None, same=True))
    assert same.record() == {}
    assert Conversion.recorded({"currency": "USD"}) == same
    assert Conversion.recorded({}) is IDENTITY
    # A dollar stablecoin converts at 1, and says so.
    assert Conversion(FxRoute("USDT", None)).record()["fx_rate"] == 100_000_000


def test_a_conversion_moves_to_the_latest_rate_of_its_pair_if_there_is_one():
    fx = Conversion(FxRoute("INR", "USDINR", invert=True), D("83.25"))
    assert fx.at({"USDINR": D("85")}).rate == D("85")
    assert fx.at({"AAPL": D("190")}) == fx
    assert Conversion(FxRoute("USDT", None)).at({"USDINR": D("85")}).rate == 1


def test_exiting_a_lot_converts_its_pnl_and_fee_at_the_exits_rate():
    lot = {"_id": "t1", "side": Side.BUY.value, "quantity": to_units(D(10)),
           "entry_price": to_units(D(2900)), "margin": to_units(D("348.34834835"))}
    fx = Conversion(FxRoute("INR", "USDINR", invert=True), D("85"))
    done = exit_lot(lot, to_units(D(10)), D(3000), CloseReason.MANUAL, to_units(D(30)),
                    datetime(2026, 1, 1, tzinfo=UTC), fx)
    # 1000 INR at 85 = 11.76470588 USD; the fee 30 INR = 0.35294118 USD.
    assert (done.pnl_quote, done.pnl) == (to_units(D(1000)), to_units(D("11.76470588")))
    assert (done.fee_quote, done.fee) == (to_units(D(30)), to_units(D("0.35294118")))
    assert done.margin == lot["margin"]  # released as it was locked
    record = done.update["$push"]["exits"]
    assert (record["pnl_quote"], record["fx_rate"]) == (to_units(D(1000)), to_units(D(85)))


def test_settlement_treats_dollar_stablecoins_as_dollars():
    assert [settles_as(c) for c in ("USDT", "USDC", "BUSD", "FDUSD", "USD", "INR", "BTC")] == [
        "USD", "USD", "USD", "USD", "USD", "INR", "BTC"]


@pytest.mark.parametrize(("symbol", "pair"), [
    ("USDINR", ("USD", "INR")), ("usd-inr", ("USD", "INR")), ("EURUSD=X", ("EUR", "USD")),
    ("USDUSD", None), ("BTCUSD", None), ("AAPL", None), ("USDINRX", None)])
def test_fx_pairs_are_six_letters_of_two_currencies(symbol, pair):
    assert fx_pair(symbol) == pair


def test_an_fx_pair_is_an_asset_of_its_own_class_quoted_in_its_second_currency():
    rules = rules_for("USDINR", "sim")
    assert (rules.asset_class, rules.exchange, rules.quote_currency, rules.base_asset,
            rules.price_increment, rules.step) == (AssetClass.FX, Exchange.FX, "INR", "USD",
                                                   D("0.0001"), D(1))
