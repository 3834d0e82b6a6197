"""/metrics: Prometheus text with the process's counters."""

import re

from handlers import keys
from tests.e2e.trading_support import order, set_price
from tests.support import until


def sample(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, f"{name} not in:\n{text}"
    return float(match.group(1))


async def scrape(api) -> str:
    response = await api.client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    return await response.text()


async def test_metrics_count_ticks_orders_fires_and_sockets(api):
    tokens = await api.account()
    token = tokens["access_token"]
    await api.socket(token)
    before = await scrape(api)
    assert sample(before, "paperdesk_sockets_connected") == 1
    assert sample(before, "paperdesk_monitor_leader") == 1
    set_price(api, "AAPL", "100")
    assert (await order(api, token, quantity="1", stop_loss="95"))[0] == 201
    assert (await order(api, token, quantity="-1"))[0] == 400
    set_price(api, "AAPL", "90")
    monitor = api.app[keys.MONITOR]
    await until(lambda: monitor.fired == 1)
    text = await scrape(api)
    assert sample(text, "paperdesk_ticks_total") == sample(before, "paperdesk_ticks_total") + 2
    assert sample(text, 'paperdesk_order_seconds_count{outcome="ok"}') == 1
    assert sample(text, 'paperdesk_order_seconds_count{outcome="invalid_quantity"}') == 1
    assert sample(text, "paperdesk_triggers_fired_total") == 1
    assert sample(text, "paperdesk_outbox_backlog") >= 0
