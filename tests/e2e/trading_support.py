"""Helpers for trading tests: a funded user, prices, orders, and the books check."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from config.settings import Settings
from handlers import keys
from store.check import check_books
from tests.support import Api, quote


def charging(settings: Settings, rate: str = "0.001") -> Settings:
    """settings with a commission of rate (0.1% by default), so fills leave fees."""
    return replace(settings, trading=replace(settings.trading, commission_rate=Decimal(rate)))


async def priced_trader(api: Api) -> str:
    """A new user's access token, with AAPL priced at 100 and BTCUSDT at 65,000."""
    token = str((await api.account())["access_token"])
    set_price(api, "AAPL", "100")
    set_price(api, "BTCUSDT", "65000")
    return token


def set_price(api: Api, symbol: str, price: str) -> None:
    hub = api.app[keys.MARKET].hub
    hub.publish(quote(symbol, price, hub.clock()))


async def order(api: Api, token: str, **fields: Any) -> tuple[int, Any]:
    body = {"symbol": "AAPL", "side": "buy", "type": "market", "quantity": "10", **fields}
    return await api.call("POST", "/api/v1/orders", body, token=token)


async def account(api: Api, token: str) -> dict[str, Any]:
    status, body = await api.call("GET", "/api/v1/account", token=token)
    assert status == 200, body
    return dict(body["account"])


async def assert_books_balance(api: Api) -> None:
    assert await check_books(api.app[keys.STORE].db) == []
