"""The leaderboard in the trading page's account card, in headless Chromium."""

from __future__ import annotations

import asyncio
import json
import re

from handlers import keys
from tests.e2e.test_browser_page import ARTIFACTS, BROWSER_CLIENT, needs_browser
from tests.e2e.trading_support import order, set_price
from tests.support import PASSWORD, Api


@needs_browser
async def test_the_account_card_shows_the_board_and_opts_the_user_in(api: Api) -> None:
    set_price(api, "AAPL", "100")
    for name, quantity in (("Top <b>Trader</b>", "20"), ("Second", "10")):
        user = await api.account(f"{quantity}@example.com", name)
        await api.call("PATCH", "/api/v1/me", {"leaderboard": True}, token=user["access_token"])
        await order(api, user["access_token"], quantity=quantity)
    set_price(api, "AAPL", "110")
    await api.app[keys.HISTORY].take_now([u["_id"] async for u in
                                          api.app[keys.STORE].db["users"].find({})])
    await api.app[keys.BOARD].refresh()
    process = await asyncio.create_subprocess_exec(
        "node", "tests/leaderboard-page.mjs", api.url, "board@example.com", PASSWORD,
        str(ARTIFACTS), cwd=BROWSER_CLIENT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 50)
    assert process.returncode == 0, stdout.decode() + stderr.decode()
    shown = json.loads(stdout.decode().strip().splitlines()[-1])
    # Registered without a name, the page named the user after their email: the board
    # would show a handle instead, and says so before the user opts in.
    assert re.fullmatch("You are not on the leaderboard. On it, you show as "
                        "\N{LEFT DOUBLE QUOTATION MARK}Trader [0-9a-f]{8}"
                        "\N{RIGHT DOUBLE QUOTATION MARK}.", shown["before"]), shown["before"]
    # Names as text (the markup in one is shown, not run), returns, unrated.
    unrated = "\N{EN DASH}"
    assert shown["rows"] == [f"1\tTop <b>Trader</b>\t0.20%\t{unrated}",
                             f"2\tSecond\t0.10%\t{unrated}"]
    assert shown["after"].startswith("You appear after the next update")
    assert shown["checked"] is True
    user = await api.app[keys.STORE].db["users"].find_one({"email": "board@example.com"})
    assert user is not None and user["leaderboard"] is True
