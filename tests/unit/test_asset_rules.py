"""Instrument rules: what each symbol is, and the orders its rules refuse (pure)."""

from dataclasses import replace
from decimal import Decimal as D

import pytest

from trading.assets import AssetClass, Exchange, rules_for
from trading.errors import InvalidPrice, InvalidQuantity
from trading.market import Universe
from trading.orders import (
    OrderRequest,
    OrderType,
    Side,
    check_order_rules,
    validate_order,
)


@pytest.mark.parametrize(("symbol", "source", "kind", "exchange", "currency", "tick", "step"), [
    ("AAPL", "sim", AssetClass.US_EQUITY, Exchange.XNYS, "USD", "0.01", "1"),
    ("BRK-B", "yfinance", AssetClass.US_EQUITY, Exchange.XNYS, "USD", "0.01", "1"),
    ("RELIANCE.NS", "yfinance", AssetClass.IN_EQUITY, Exchange.XNSE, "INR", "0.05", "1"),
    ("TCS.BO", "sim", AssetClass.IN_EQUITY, Exchange.XBOM, "INR", "0.05", "1"),
    ("^NSEI", "yfinance", AssetClass.INDEX, Exchange.XNSE, "INR", "0.01", "1"),
    ("^NSEBANK", "sim", AssetClass.INDEX, Exchange.XNSE, "INR", "0.01", "1"),
    ("^BSESN", "yfinance", AssetClass.INDEX, Exchange.XBOM, "INR", "0.01", "1"),
    ("^GSPC", "yfinance", AssetClass.INDEX, Exchange.XNYS, "USD", "0.01", "1"),
    ("BTCUSDT", "sim", AssetClass.CRYPTO, Exchange.CRYPTO, "USDT", "0.01", "0.00001"),
    ("ETH-USDT", "binance", AssetClass.CRYPTO, Exchange.CRYPTO, "USDT", "0.01", "0.0001"),
    ("SOLUSDT", "binance", AssetClass.CRYPTO, Exchange.CRYPTO, "USDT", "0.01", "0.001"),
    ("ETHBTC", "binance", AssetClass.CRYPTO, Exchange.CRYPTO, "BTC", "0.00000001",
     "0.000001"),
    ("DOGEFDUSD", "sim", AssetClass.CRYPTO, Exchange.CRYPTO, "FDUSD", "0.00000001",
     "0.000001"),
])
def test_each_symbol_gets_its_class_exchange_currency_tick_and_step(
        symbol, source, kind, exchange, currency, tick, step):
    rules = rules_for(symbol, source)
    assert (rules.asset_class, rules.exchange, rules.quote_currency) == (kind, exchange,
                                                                         currency)
    assert (rules.price_increment, rules.step) == (D(tick), D(step))
    assert rules.fractionable == (kind == AssetClass.CRYPTO)
    assert rules.shortable == (kind != AssetClass.CRYPTO)


def test_crypto_pairs_have_a_base_asset_and_a_minimum_notional_in_their_quote():
    btc, eth_btc = rules_for("BTCUSDT", "sim"), rules_for("ETHBTC", "binance")
    assert (btc.base_asset, btc.min_notional, btc.min_order_size) == ("BTC", D(5),
                                                                       D("0.00001"))
    assert (eth_btc.base_asset, eth_btc.min_notional) == ("ETH", D("0.0001"))
    assert rules_for("AAPL", "sim").min_notional == 0


def test_quantity_decimals_follow_the_step_size():
    universe = Universe.parse("sim:BTCUSDT,ETHUSDT,SOLUSDT,AAPL,XYZUSDT;yfinance:^NSEI")
    assert {symbol: i.quantity_decimals for symbol, i in universe.instruments.items()} == {
        "BTCUSDT": 5, "ETHUSDT": 4, "SOLUSDT": 3, "AAPL": 0, "XYZUSDT": 6, "^NSEI": 0}


def test_us_stocks_below_a_dollar_tick_in_hundredths_of_a_cent():
    rules = rules_for("AAPL", "sim")
    assert (rules.tick(D("0.9999")), rules.tick(D(1)), rules.tick(D(250))) == (
        D("0.0001"), D("0.01"), D("0.01"))
    assert rules_for("RELIANCE.NS", "sim").tick(D("0.5")) == D("0.05")


def order(symbol="AAPL", side=Side.BUY, type_=OrderType.LIMIT, quantity="1", **prices):
    return OrderRequest(symbol, side, type_, D(quantity),
                        **{name: D(value) for name, value in prices.items()})


@pytest.mark.parametrize(("symbol", "field", "price", "tick"), [
    ("AAPL", "limit_price", "190.005", "0.01"),
    ("AAPL", "limit_price", "0.00005", "0.0001"),
    ("RELIANCE.NS", "limit_price", "2900.03", "0.05"),
    ("BTCUSDT", "limit_price", "65000.001", "0.01"),
])
def test_a_price_off_the_tick_is_refused_naming_the_tick(symbol, field, price, tick):
    with pytest.raises(InvalidPrice) as caught:
        check_order_rules(order(symbol, **{field: price}), rules_for(symbol, "sim"), D(price))
    assert caught.value.details == {"field": field, "rule": "price_increment",
                                    "price_increment": tick}
    assert f"tick size {tick}" in caught.value.message


def test_stop_loss_and_target_keep_to_the_tick_too():
    rules = rules_for("RELIANCE.NS", "sim")
    for field in ("stop_loss", "target_price", "stop_price"):
        with pytest.raises(InvalidPrice) as caught:
            check_order_rules(order("RELIANCE.NS", limit_price="2900", **{field: "2890.02"}),
                              rules, D(2900))
        assert caught.value.details["field"] == field
    check_order_rules(order("RELIANCE.NS", limit_price="2900.05", stop_loss="2890.10",
                            target_price="2950"), rules, D("2900.05"))


def test_a_quantity_off_the_step_or_under_the_minimum_is_refused():
    lots = replace(rules_for("AAPL", "sim"), step=D(25), min_order_size=D(50))
    with pytest.raises(InvalidQuantity) as caught:
        check_order_rules(order(quantity="30", limit_price="10"), lots, D(10))
    assert caught.value.details["rule"] == "min_trade_increment"
    assert "step size 25" in caught.value.message
    with pytest.raises(InvalidQuantity) as caught:
        check_order_rules(order(quantity="25", limit_price="10"), lots, D(10))
    assert caught.value.details["rule"] == "min_order_size"
    check_order_rules(order(quantity="75", limit_price="10"), lots, D(10))


def test_validate_order_refuses_crypto_finer_than_its_step():
    rules = rules_for("BTCUSDT", "sim")
    with pytest.raises(InvalidQuantity):
        validate_order(order("BTCUSDT", type_=OrderType.MARKET, quantity="0.000001"),
                       rules.quantity_decimals, D(65000), rules)
    assert validate_order(order("BTCUSDT", type_=OrderType.MARKET, quantity="0.00012"),
                          rules.quantity_decimals, D(65000), rules) == D(65000)


def test_orders_under_the_minimum_notional_are_refused_at_their_reference_price():
    rules = rules_for("BTCUSDT", "sim")
    small = order("BTCUSDT", type_=OrderType.MARKET, quantity="0.00007")  # 4.55 USDT
    with pytest.raises(InvalidQuantity) as caught:
        validate_order(small, 5, D(65000), rules)
    assert caught.value.details == {"field": "quantity", "rule": "min_notional",
                                    "min_notional": "5"}
    assert "at least 5 USDT" in caught.value.message
    validate_order(small, 5, D(80000), rules)  # 5.6 USDT
    with pytest.raises(InvalidQuantity):  # a limit order is valued at its limit
        validate_order(order("BTCUSDT", quantity="0.001", limit_price="4000"), 5, None, rules)


def test_without_rules_validate_order_checks_what_it_always_did():
    assert validate_order(order(limit_price="190.005"), 0, None) == D("190.005")
