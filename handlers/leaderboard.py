"""REST: the public leaderboard, and the signed-in user's own rank and rating."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers import keys
from handlers.commands import decode_cursor, encode_cursor
from handlers.common import authenticated, json_ok
from handlers.validation import choice, integer_param
from trading.errors import InvalidInput
from trading.leaderboard import BoardPeriod

routes = web.RouteTableDef()

LIMIT_DEFAULT, LIMIT_MAX = 25, 100
MAX_RANK = 10**9
PARAMS = ("period", "limit", "cursor")


def _after_rank(request: web.Request, period: BoardPeriod) -> int:
    """The last rank of the page before, from the cursor (0 without one)."""
    raw = request.query.get("cursor")
    if raw is None:
        return 0
    text = decode_cursor("leaderboard", raw)
    named, _, rank = text.partition(".")
    if named != period.value or not rank.isascii() or not rank.isdigit() or len(rank) > 9 \
            or not 1 <= int(rank) <= MAX_RANK:
        raise InvalidInput("'cursor' must be a next_cursor this list returned, with the same "
                           "period.", field="cursor")
    return int(rank)


@routes.get("/api/v1/leaderboard")
async def get_leaderboard(request: web.Request) -> web.Response:
    """A page of a board, best first: public, names only."""
    for name in PARAMS:
        if len(request.query.getall(name, [])) > 1:
            raise InvalidInput(f"'{name}' may be given once.", field=name)
    query: dict[str, Any] = dict(request.query)
    period = choice(query, "period", BoardPeriod, BoardPeriod.WEEK)
    limit = integer_param(request, "limit", default=LIMIT_DEFAULT, low=1, high=LIMIT_MAX)
    after = _after_rank(request, period)
    state, shown = await request.app[keys.BOARD].page(period, after, limit)
    users = 0 if state is None else int(state["counts"][period.value])
    # A page is a range of ranks: one with gaps (users who opted out since the pass)
    # holds fewer entries, and the next one still follows it.
    last = after + limit
    return json_ok({
        "period": period.value,
        "computed_at": None if state is None else state["computed_at"].isoformat(),
        "users": users,
        "rated_users": 0 if state is None else int(state["rated"]),
        "entries": [{"rank": e["rank"], "name": e["name"], "return_pct": e["return_pct"],
                     "rating": e["rating"]} for e in shown],
        "next_cursor": encode_cursor("leaderboard", f"{period.value}.{last}")
        if last < users else None})


@routes.get("/api/v1/me/rating")
async def get_my_rating(request: web.Request) -> web.Response:
    """The user's rank on each board and rating, as the last pass found them."""
    principal = await authenticated(request)
    user = await request.app[keys.AUTH].profile(principal)
    return json_ok(await request.app[keys.BOARD].standing(user))
