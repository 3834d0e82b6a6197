"""The message bus: every subscriber of a message's type, in order; one failing does not
stop the others nor reach the publisher."""

import logging

from services.bus import MessageBus
from trading.events import Changed, TradeClosed


async def test_subscribers_of_the_type_get_each_message_in_order_and_a_failure_stays_theirs(
        caplog):
    bus, seen = MessageBus(), []

    async def first(message):
        seen.append(("first", message.kind))

    def broken(message):
        raise ValueError("subscriber bug")

    bus.subscribe(Changed, first)
    bus.subscribe(Changed, broken)
    bus.subscribe(Changed, lambda message: seen.append(("third", message.kind)))
    bus.subscribe(TradeClosed, lambda message: seen.append(("closed", message.reason)))
    with caplog.at_level(logging.ERROR, logger="services.bus"):
        await bus.publish(Changed("order", {"_id": "o1"}), Changed("trade", {"_id": "t1"}))
    assert seen == [("first", "order"), ("third", "order"), ("first", "trade"),
                    ("third", "trade")]
    assert sum("subscriber bug" in (r.exc_text or "") for r in caplog.records) == 2
    bus.unsubscribe(Changed, first)
    await bus.publish(Changed("alert", {"_id": "a1"}))
    assert seen[-1] == ("third", "alert") and ("first", "alert") not in seen
