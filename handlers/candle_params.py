"""The query of GET /api/v1/market/candles/{symbol}, read and checked.

    timeframe  1m | 5m | 15m | 1h | 4h | 1d (default 1m; ``interval`` is the old name)
    start, end epoch milliseconds, or ISO 8601 (a date, or a date and time; without
               an offset it is UTC), from 1970 to 9999; both inclusive, on the
               candles' start times
    limit      1 to 1000 (default 100)
    cursor     the next_cursor of the previous page

With start, a page holds the oldest candles from start on and next_cursor leads
forward (newer); without it, the newest candles up to end and next_cursor leads
back (older). Each page lists its candles oldest first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiohttp import web

from handlers.commands import decode_cursor, encode_cursor
from handlers.validation import integer_param
from trading.candles import TIMEFRAMES
from trading.errors import InvalidInput

LIMIT_DEFAULT, LIMIT_MAX = 100, 1000
LATEST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
_EPOCH_MS = re.compile(r"[0-9]{1,15}", re.ASCII)
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
                  r"(?:[T ][0-9]{2}(?::[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?)?"
                  r"(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?", re.ASCII | re.IGNORECASE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_KIND = "candles"


@dataclass(frozen=True, slots=True)
class CandleQuery:
    timeframe: str
    low: int  # epoch seconds: candles whose start is within [low, high]
    high: int
    limit: int
    forward: bool


def time_param(request: web.Request, name: str) -> int | None:
    """A time query parameter in epoch milliseconds, or None if absent."""
    raw = request.query.get(name)
    if raw is None:
        return None
    bad = InvalidInput(f"'{name}' must be a time in epoch milliseconds (such as "
                       "1767225600000) or ISO 8601 (such as 2026-01-01T00:00:00Z), from 1970 "
                       "to 9999.", field=name)
    if _EPOCH_MS.fullmatch(raw):
        millis = int(raw)
    elif _ISO.fullmatch(raw):
        try:
            moment = datetime.fromisoformat(raw.upper().replace(" ", "T"))
        except ValueError:
            raise bad from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        millis = (moment - _EPOCH) // timedelta(milliseconds=1)
    else:
        raise bad
    if not 0 <= millis <= LATEST_MS:
        raise bad
    return millis


def timeframe_param(request: web.Request) -> str:
    """timeframe, or interval (its old name); both may be given if they agree."""
    given = {name: request.query[name] for name in ("timeframe", "interval")
             if name in request.query}
    field = "timeframe" if "timeframe" in given else "interval"
    timeframe = given.get(field, "1m")
    if timeframe not in TIMEFRAMES or len(set(given.values())) > 1:
        raise InvalidInput(f"'{field}' must be one of {', '.join(TIMEFRAMES)}"
                           + (" (and 'interval' the same)." if len(given) > 1 else "."),
                           field=field)
    return timeframe


def candle_query(request: web.Request, symbol: str) -> CandleQuery:
    """Read the query (module docstring); InvalidInput naming the field at fault."""
    timeframe = timeframe_param(request)
    limit = integer_param(request, "limit", default=LIMIT_DEFAULT, low=1, high=LIMIT_MAX)
    start, end = time_param(request, "start"), time_param(request, "end")
    if start is not None and end is not None and start > end:
        raise InvalidInput("'start' must not be after 'end'.", field="start")
    low = 0 if start is None else -(-start // 1000)  # the first whole second at or after
    high = LATEST_MS // 1000 if end is None else end // 1000
    forward = start is not None
    if (cursor := request.query.get("cursor")) is not None:
        position = cursor_position(cursor, symbol, timeframe, forward)
        if forward:
            low = max(low, position + 1)
        else:
            high = min(high, position - 1)
    return CandleQuery(timeframe, low, high, limit, forward)


def next_cursor(symbol: str, query: CandleQuery, last: int) -> str:
    """The cursor of the page after the one that ended at the candle starting at last."""
    return encode_cursor(_KIND, f"{symbol}|{query.timeframe}|{'f' if query.forward else 'b'}|"
                                f"{last}")


def cursor_position(cursor: str, symbol: str, timeframe: str, forward: bool) -> int:
    """Where the page a cursor names begins; 400 unless it is this query's own."""
    named = decode_cursor(_KIND, cursor)
    parts = named.split("|")
    if len(parts) != 4 or parts[:3] != [symbol, timeframe, "f" if forward else "b"] \
            or not parts[3].isascii() or not parts[3].isdigit() or len(parts[3]) > 15:
        raise InvalidInput("'cursor' must be a next_cursor of this symbol, timeframe and "
                           "direction (with start, or without).", field="cursor")
    return int(parts[3])
