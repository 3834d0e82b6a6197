"""Alerts on a Fear & Greed index crossing a level (symbols FNG:crypto and FNG:stocks).

The price monitor watches market ticks; an index changes a few times a day, when its
poller (services/intel.py) reads a new value. Then the active alerts on the index
are checked against it, as the monitor checks a tick: each fires once per crossing
through AlertService.fire, with its rest after a fire and its channels.
"""

from __future__ import annotations

import logging

from services.alerts import AlertService
from services.monitor import alert_triggers
from trading.intel import Reading

log = logging.getLogger(__name__)

MOST_PER_READING = 10_000  # alerts checked per new reading of one index


async def fire_index_alerts(alerts: AlertService, index: str, reading: Reading) -> int:
    """Fire the active alerts on an index that its new reading crosses; how many fired."""
    symbol, fired = f"FNG:{index}", 0
    now = alerts.now()
    for alert in await alerts.store.alerts.active_on(symbol, MOST_PER_READING):
        crossed = any(trigger.crossed_by(reading.value)
                      for trigger in alert_triggers(alert, now, alerts.min_cooldown))
        if crossed and await alerts.fire(alert["user_id"], alert["_id"],
                                         reading.value) is not None:
            fired += 1
    if fired:
        log.info("%d alerts fired on %s at %s", fired, symbol, reading.value)
    return fired
