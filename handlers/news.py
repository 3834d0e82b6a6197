"""REST: stored headlines (public, like the quotes); the `news` socket push."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web

from handlers import keys
from handlers.commands import decode_cursor, encode_cursor
from handlers.common import json_ok
from handlers.streaming import symbol_room
from handlers.validation import whole_number
from services.news import freshness
from store.database import Document
from trading.errors import InvalidInput, UnknownSymbol, UnknownSymbolInput
from trading.news import Headline

routes = web.RouteTableDef()

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
PARAMS = frozenset({"symbol", "limit", "cursor"})
_POSITION = re.compile(r"([0-9]{1,15})\.([0-9a-f]{32})", re.ASCII)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def headline_view(item: Headline | Document) -> dict[str, Any]:
    """A headline as the API shows it (from the domain object or its stored document)."""
    if isinstance(item, Headline):
        return {"id": item.id, "title": item.title, "summary": item.summary, "link": item.link,
                "source": item.source, "published_at": _time(item.published_at),
                "symbols": list(item.symbols)}
    return {"id": item["_id"], "title": item["title"], "summary": item["summary"],
            "link": item["link"], "source": item["source"],
            "published_at": _time(item["published_at"]), "symbols": list(item["symbols"])}


def _one(request: web.Request, name: str) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise InvalidInput(f"Send '{name}' once.", field=name)
    return values[0] if values else None


def _after(raw: str | None) -> tuple[datetime, str] | None:
    if raw is None:
        return None
    match = _POSITION.fullmatch(decode_cursor("news", raw))
    if match is None:
        raise InvalidInput("'cursor' must be a next_cursor this list returned.", field="cursor")
    try:
        at = datetime.fromtimestamp(int(match.group(1)) / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        raise InvalidInput("'cursor' must be a next_cursor this list returned.",
                           field="cursor") from None
    return at, match.group(2)


@routes.get("/api/v1/news")
async def news(request: web.Request) -> web.Response:
    """Stored headlines, newest first, optionally of one symbol, with the feeds' state."""
    unknown = sorted(set(request.query) - PARAMS)
    if unknown:
        raise InvalidInput(f"Unknown query parameter {unknown[0][:40]!r}; this list takes "
                           "symbol, limit and cursor.", field=unknown[0][:40])
    raw_symbol, raw_limit = _one(request, "symbol"), _one(request, "limit")
    after = _after(_one(request, "cursor"))
    limit = DEFAULT_LIMIT if raw_limit is None else whole_number(raw_limit, "limit", low=1,
                                                                   high=MAX_LIMIT)
    symbol = None
    if raw_symbol is not None:
        try:
            symbol = request.app[keys.MARKET].universe.resolve(raw_symbol)
        except UnknownSymbol as exc:
            raise UnknownSymbolInput(exc.message, field="symbol") from None
    store, settings = request.app[keys.STORE].news, request.app[keys.SETTINGS].news
    found = await store.page(symbol, limit + 1, after)
    shown, more = found[:limit], len(found) > limit
    stale, sources = freshness([name for name, _ in settings.feeds], await store.states(),
                               settings, request.app[keys.CLOCK]())
    last = shown[-1] if shown else None
    cursor = None
    if more and last is not None:
        millis = int(last["published_at"].timestamp() * 1000)
        cursor = encode_cursor("news", f"{millis}.{last['_id']}")
    return json_ok({"news": [headline_view(doc) for doc in shown], "next_cursor": cursor,
                    "stale": stale, "sources": sources})


class NewsPush:
    """Sends each new headline as `news` to the sockets subscribed to a symbol it
    mentions, on every process (through Redis when configured), once per socket."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self.sio = sio

    async def __call__(self, headlines: list[Headline]) -> None:
        for item in headlines:
            if item.symbols:
                await self.sio.emit("news", headline_view(item),
                                    room=[symbol_room(symbol) for symbol in item.symbols])
