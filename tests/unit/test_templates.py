"""Message texts: filled from files, with money and times written for people."""

from notifier.templates import for_people, render


def test_money_gets_separators_and_two_decimals_and_times_read_as_words():
    assert for_people("realized_pnl", "-1234567.555") == "-1,234,567.56"
    assert for_people("realized_pnl", "50") == "50.00"
    assert for_people("closed_at", "2026-11-23T17:45:09.123000+00:00") == "23 Nov 2026 17:45 UTC"
    assert for_people("reason", "trailing_stop") == "trailing stop"
    assert for_people("close_price", "65000.12345678") == "65000.12345678"  # prices stay exact
    assert for_people("note", None) == ""


def test_a_trade_closed_message_reads_well():
    subject, body = render("trade_closed", {
        "symbol": "AAPL", "side": "buy", "quantity": "10", "close_price": "93.5",
        "reason": "stop_loss", "closed_at": "2026-11-23T17:45:00+00:00",
        "realized_pnl": "-65", "currency": "USD"})
    assert subject == "AAPL trade closed by stop loss"
    assert body == ("Your buy trade of 10 AAPL closed at 93.5 (stop loss) on 23 Nov 2026 "
                    "17:45 UTC.\nRealized PnL: -65.00 USD.\n")


def test_missing_values_are_left_out_not_shown_as_none():
    subject, body = render("alert_triggered", {"symbol": "BTCUSDT", "condition": "above",
                                               "level": "70000", "price": "70001"})
    assert "None" not in subject + body


def test_an_order_filled_message_shows_its_fee_exactly():
    subject, body = render("order_filled", {
        "symbol": "BTCUSDT", "type": "market", "side": "buy", "quantity": "0.1",
        "filled_price": "50050", "fee": "5.005", "currency": "USD"})
    assert subject == "BTCUSDT market order filled at 50050"
    assert body == "Your market buy order for 0.1 BTCUSDT filled at 50050 (fee: 5.005 USD).\n"
