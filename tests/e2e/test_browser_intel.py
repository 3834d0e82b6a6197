"""The page's market-mood panel in headless Chromium, on local stand-ins of the sources."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from config.intel import IntelSettings
from handlers import keys
from tests.e2e.test_browser_page import ARTIFACTS, BROWSER_CLIENT, Driver, needs_browser
from tests.intel_sources import IntelSources
from tests.support import PASSWORD, until


@needs_browser
async def test_the_panel_shows_both_indices_the_screener_and_a_pushed_change(
        servers, settings) -> None:
    async with IntelSources() as sources:
        api = await servers.start(replace(settings, intel=IntelSettings(
            coingecko_url=sources.url("/api/v3"), fng_url=sources.url("/fng/"),
            cnn_fng_url=sources.url("/index/fearandgreed/graphdata"))))
        intel = api.app[keys.INTEL]
        await until(lambda: all(cached.value is not None for cached in intel.cache.values()))
        await api.register("mood@example.com")
        process = await asyncio.create_subprocess_exec(
            "node", "tests/intel-panel.mjs", api.url, "mood@example.com", PASSWORD,
            str(ARTIFACTS), cwd=BROWSER_CLIENT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        driver = Driver(process)
        try:
            await driver.reached("shown")
            sources.fng_value, sources.fng_class = "72", "Greed"
            await intel.refresh("fng")
            driver.go()
            output = await driver.finish()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert "first token: 1 BTC Bitcoin 97,123.45 $1.92T $31.00B 1.25%" in output
    assert "panel checked" in output
