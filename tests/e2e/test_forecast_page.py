"""The forecast drawn on the trading page, in headless Chromium."""

from __future__ import annotations

import asyncio
import json

from handlers import keys
from tests.e2e.test_browser_page import ARTIFACTS, BROWSER_CLIENT, needs_browser
from tests.e2e.test_forecast import store
from tests.e2e.trading_support import set_price
from tests.support import PASSWORD, Api


@needs_browser
async def test_the_page_draws_the_forecast_band_with_its_disclaimer_when_asked(api: Api) -> None:
    await store(api, 300)
    set_price(api, "AAPL", "100")
    process = await asyncio.create_subprocess_exec(
        "node", "tests/forecast-page.mjs", api.url, "band@example.com", PASSWORD,
        str(ARTIFACTS), cwd=BROWSER_CLIENT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stdout.decode() + stderr.decode()
    shown = json.loads(stdout.decode().strip().splitlines()[-1])
    assert shown["before"] in (None, "0")  # nothing drawn, nothing fitted, until asked
    assert shown["note"].startswith("Not investment advice")
    assert 'it beat "the next close = the last close"' in shown["note"]
    assert shown["hidden"] is True
    assert "not advice" in shown["label"]
    assert api.app[keys.FORECASTS].fits == 1
