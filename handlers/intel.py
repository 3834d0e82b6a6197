"""REST: the token screener, the Fear & Greed indices and recommendations (public, like
the quotes; services/intel.py answers from its cache)."""

from __future__ import annotations

import re
from decimal import Decimal

from aiohttp import web

from handlers import keys
from handlers.common import json_ok
from trading.errors import InvalidInput
from trading.intel import Sort

routes = web.RouteTableDef()

_AMOUNT = re.compile(r"[0-9]{1,16}(\.[0-9]{1,8})?", re.ASCII)
MAX_MARKET_CAP = Decimal(10) ** 15
MAX_FUND_CHARS = 100
MAX_TOKENS = 250
MAX_DAYS = 365


def single(request: web.Request, name: str) -> str | None:
    """A query parameter given at most once."""
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise InvalidInput(f"'{name}' may be given once.", field=name)
    return values[0] if values else None


def market_cap_param(raw: str | None) -> Decimal | None:
    """?min_market_cap=: US dollars, a plain decimal from 0 to 10^15."""
    if raw is None:
        return None
    if not _AMOUNT.fullmatch(raw) or Decimal(raw) > MAX_MARKET_CAP:
        raise InvalidInput("'min_market_cap' must be a number of US dollars from 0 to "
                           "1000000000000000 (ASCII digits, an optional point).",
                           field="min_market_cap")
    return Decimal(raw)


def whole(raw: str | None, name: str, *, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    if not re.fullmatch(r"[0-9]{1,6}", raw, re.ASCII) or not low <= int(raw) <= high:
        raise InvalidInput(f"'{name}' must be a whole number from {low} to {high}.",
                           field=name, details={"min": low, "max": high})
    return int(raw)


@routes.get("/api/v1/screener")
async def screener(request: web.Request) -> web.Response:
    intel = request.app[keys.INTEL]
    minimum = market_cap_param(single(request, "min_market_cap"))
    raw_sort = single(request, "sort")
    try:
        sort = Sort(raw_sort) if raw_sort is not None else Sort.MARKET_CAP
    except ValueError:
        raise InvalidInput("'sort' must be one of: market_cap, change_24h, volume.",
                           field="sort") from None
    backed_by = single(request, "backed_by")
    if backed_by is not None and (len(backed_by) > MAX_FUND_CHARS
                                  or not intel.known_fund(backed_by)):
        raise InvalidInput("'backed_by' must name a fund of the fund file (any case).",
                           field="backed_by", details={"funds": sorted(intel.fund_names.values())})
    limit = whole(single(request, "limit"), "limit", default=MAX_TOKENS, low=1, high=MAX_TOKENS)
    return web.Response(body=intel.screener(minimum, sort, backed_by, limit),
                        content_type="application/json")


@routes.get("/api/v1/sentiment")
async def sentiment(request: web.Request) -> web.Response:
    days = whole(single(request, "days"), "days", default=30, low=1, high=MAX_DAYS)
    return json_ok(request.app[keys.INTEL].sentiment(days))


@routes.get("/api/v1/recommendations")
async def recommendations(request: web.Request) -> web.Response:
    return json_ok(request.app[keys.INTEL].recommendations())
