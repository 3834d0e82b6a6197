"""This process's metrics in Prometheus's text format, served at /metrics.

Counts that other parts already keep (ticks accepted, triggers fired, sockets
open) are read when scraped; order latency is a histogram observed by the
command layer. With several processes, scrape each one (they are separate
instances to Prometheus).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ORDER_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Readings(Collector):
    """Values read from the running parts at each scrape."""

    def __init__(self) -> None:
        self.ticks: Callable[[], int] = lambda: 0
        self.fired: Callable[[], int] = lambda: 0
        self.sockets: Callable[[], int] = lambda: 0
        self.leading: Callable[[], bool] = lambda: False
        self.outbox_backlog = 0  # set by the handler before each scrape (needs a query)

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily("paperdesk_ticks", "Price ticks accepted by this process's hub",
                                  value=self.ticks())
        yield CounterMetricFamily("paperdesk_triggers_fired",
                                  "Stop-losses, targets, trailing stops, resting orders and "
                                  "alerts fired by this process's monitor", value=self.fired())
        yield GaugeMetricFamily("paperdesk_sockets_connected", "Socket.IO connections open",
                                value=self.sockets())
        yield GaugeMetricFamily("paperdesk_monitor_leader",
                                "1 while this process runs the monitor and the feeds",
                                value=1 if self.leading() else 0)
        yield GaugeMetricFamily("paperdesk_outbox_backlog",
                                "Notifications waiting to be sent (all processes)",
                                value=self.outbox_backlog)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.readings = Readings()
        self.registry.register(self.readings)
        self.order_seconds = Histogram(
            "paperdesk_order_seconds", "Time to place an order, REST or socket, by outcome",
            ["outcome"], buckets=ORDER_BUCKETS, registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
