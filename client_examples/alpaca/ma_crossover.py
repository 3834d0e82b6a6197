"""A moving-average crossover bot written with alpaca-py, Alpaca's Python SDK.

Every --interval seconds it reads the symbol's recent one-minute bars, compares the
mean close of the last --fast bars with that of the last --slow bars, and holds
--qty of the symbol while the fast mean is above the slow one: it buys when the
fast mean crosses above and sells the position when it crosses below.

Nothing in it is specific to PaperDesk. Its environment chooses the server:

    APCA_API_KEY_ID, APCA_API_SECRET_KEY   the key pair (required)
    APCA_API_BASE_URL   the trading API; unset: Alpaca's paper endpoint
    APCA_API_DATA_URL   the market data API; unset: Alpaca's data endpoint

    APCA_API_BASE_URL=http://localhost:8000 APCA_API_DATA_URL=http://localhost:8000 \\
        python ma_crossover.py --symbol AAPL

A symbol with a slash (BTC/USD) is crypto: its bars come from the crypto data API
and its orders are good until cancelled.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from alpaca.common.exceptions import APIError
from alpaca.data.enums import DataFeed
from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient
from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
from alpaca.data.timeframe import TimeFrame
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--symbol", default="AAPL", help="AAPL, RELIANCE.NS, BTC/USD...")
    parser.add_argument("--qty", default="1", help="how much to hold while the trend is up")
    parser.add_argument("--fast", type=int, default=5, help="bars in the fast mean")
    parser.add_argument("--slow", type=int, default=20, help="bars in the slow mean")
    parser.add_argument("--interval", type=float, default=60, help="seconds between checks")
    parser.add_argument("--iterations", type=int, default=0,
                        help="checks to make before stopping (0: until interrupted)")
    args = parser.parse_args(argv)
    if not 0 < args.fast < args.slow:
        parser.error("--fast must be at least 1 and less than --slow")
    return args


class Bot:
    def __init__(self, args: argparse.Namespace, key: str, secret: str) -> None:
        self.symbol = args.symbol
        self.qty = Decimal(args.qty)
        self.fast, self.slow = args.fast, args.slow
        self.crypto = "/" in args.symbol
        # url_override=None keeps each client's own default: Alpaca's endpoints.
        self.trading = TradingClient(key, secret, paper=True,
                                     url_override=os.environ.get("APCA_API_BASE_URL"))
        self.asset = self.trading.get_asset(self.symbol)
        data_url = os.environ.get("APCA_API_DATA_URL")
        self.data = (CryptoHistoricalDataClient(key, secret, url_override=data_url)
                     if self.crypto else
                     StockHistoricalDataClient(key, secret, url_override=data_url))

    def closes(self) -> list[float]:
        """The closes of the symbol's latest one-minute bars, oldest first."""
        start = datetime.now(UTC) - timedelta(minutes=3 * self.slow)
        if self.crypto:
            bars = self.data.get_crypto_bars(CryptoBarsRequest(
                symbol_or_symbols=self.symbol, timeframe=TimeFrame.Minute, start=start))
        else:
            bars = self.data.get_stock_bars(StockBarsRequest(
                symbol_or_symbols=self.symbol, timeframe=TimeFrame.Minute, start=start,
                feed=DataFeed.IEX))
        return [bar.close for bar in bars.data.get(self.symbol, [])][-self.slow:]

    def held(self) -> Decimal:
        """The quantity held now (0 without a position)."""
        # By asset id: a crypto position's symbol is not spelled as its pair (BTCUSD).
        try:
            position = self.trading.get_open_position(str(self.asset.id))
        except APIError as error:
            if error.status_code == 404:
                return Decimal(0)
            raise
        return Decimal(position.qty)

    def check(self) -> None:
        closes = self.closes()
        if len(closes) < self.slow:
            print(f"{len(closes)} of {self.slow} bars so far: waiting", flush=True)
            return
        fast = sum(closes[-self.fast:]) / self.fast
        slow = sum(closes) / self.slow
        held = self.held()
        print(f"{self.symbol}: last close {closes[-1]:g}, fast mean {fast:.4f}, "
              f"slow mean {slow:.4f}, holding {held}", flush=True)
        if fast > slow and held <= 0:
            self.order(OrderSide.BUY, self.qty)
        elif fast < slow and held > 0:
            self.order(OrderSide.SELL, held)

    def order(self, side: OrderSide, qty: Decimal) -> None:
        order = self.trading.submit_order(MarketOrderRequest(
            symbol=self.symbol, qty=float(qty), side=side,
            time_in_force=TimeInForce.GTC if self.crypto else TimeInForce.DAY))
        print(f"order {order.id}: {side.value} {qty} {self.symbol} at market, "
              f"status {order.status.value}", flush=True)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    key, secret = os.environ.get("APCA_API_KEY_ID"), os.environ.get("APCA_API_SECRET_KEY")
    if not key or not secret:
        print("set APCA_API_KEY_ID and APCA_API_SECRET_KEY", file=sys.stderr)
        return 2
    try:
        bot = Bot(args, key, secret)
        account = bot.trading.get_account()
        print(f"account {account.account_number}: cash {account.cash}, "
              f"buying power {account.buying_power}; trading {bot.asset.symbol} "
              f"({bot.asset.asset_class.value}), tradable: {bot.asset.tradable}", flush=True)
        for done in itertools.count(1):
            bot.check()
            if done == args.iterations:
                break
            time.sleep(args.interval)
    except APIError as error:
        print(f"request refused: {error.status_code} {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
