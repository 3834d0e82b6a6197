"""A bot on Alpaca's Trading API: alpaca-py's TradingClient with a new user's API key."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient

from tests.e2e.trading_support import set_price
from tests.support import Api

T = TypeVar("T")
KEYS = "/api/v1/me/api-keys"


class Bot:
    """A TradingClient with a new user's API key, each call run off the event loop."""

    def __init__(self, api: Api, key: dict[str, Any]) -> None:
        self.api, self.key = api, key
        self.client = TradingClient(key["key_id"], key["secret"], paper=True,
                                    url_override=api.url.rstrip("/"))

    async def __call__(self, method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(method, *args, **kwargs)

    async def raw(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        """A /v2 call through aiohttp with the key's headers (status, JSON or None)."""
        headers = {"APCA-API-KEY-ID": self.key["key_id"],
                   "APCA-API-SECRET-KEY": self.key["secret"], **kwargs.pop("headers", {})}
        return await self.api.call(method, path, headers=headers, **kwargs)


async def bot_of(api: Api, scope: str = "trading", email: str = "ann@example.com") -> Bot:
    """A new user's bot (AAPL priced at 100, BTCUSDT at 65,000), its key of scope."""
    token = str((await api.account(email=email))["access_token"])
    set_price(api, "AAPL", "100")
    set_price(api, "BTCUSDT", "65000")
    status, key = await api.call("POST", KEYS, {"name": "bot", "scope": scope}, token=token)
    assert status == 201, key
    return Bot(api, key)


async def fails(bot: Bot, method: Callable[..., Any], *args: Any) -> APIError:
    with pytest.raises(APIError) as raised:
        await bot(method, *args)
    return raised.value

