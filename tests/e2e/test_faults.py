"""Three rounds of the fault script: kill -9 of the server, Redis and the database
bounced; nothing lost or doubled (tests/faults.py has the checks)."""

from pathlib import Path

import pytest

from tests.faults import run_faults


@pytest.mark.timeout(180)
async def test_trading_survives_a_killed_server_and_bounced_redis_and_database(
        tmp_path: Path) -> None:
    report = await run_faults(rounds=3, seed=1, workdir=tmp_path)
    assert report.problems == [], report.line()
    assert report.rounds == 3
    assert report.faults == {"kill_server": 1, "bounce_redis": 1, "bounce_database": 1}
    assert report.orders_acked >= 12  # some of each burst die with the server
