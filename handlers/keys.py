"""Typed application keys: every shared resource the app holds."""

from __future__ import annotations

import redis.asyncio as aioredis
import socketio
from aiohttp import web

from config.settings import Settings
from feeds.service import Market
from handlers.streaming import PriceStreamer
from notifier.outbox import OutboxWorker
from services.alerts import AlertService
from services.auth import AuthService, Clock
from services.bus import MessageBus
from services.cluster import Cluster
from services.engine import TradingEngine
from services.forecasts import Forecaster
from services.history import Snapshots
from services.intel import IntelService
from services.leaderboard import Leaderboard
from services.limits import Limits
from services.metrics import Metrics
from services.monitor import Monitor
from services.news import NewsPoller
from store.store import Store

SETTINGS = web.AppKey("settings", Settings)
METRICS = web.AppKey("metrics", Metrics)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
SIO = web.AppKey("sio", socketio.AsyncServer)
MONGO_URI = web.AppKey("mongo_uri", str)
STORE = web.AppKey("store", Store)
REDIS: web.AppKey[aioredis.Redis | None] = web.AppKey("redis")
BUS = web.AppKey("bus", MessageBus)
AUTH = web.AppKey("auth", AuthService)
MARKET = web.AppKey("market", Market)
STREAMER = web.AppKey("streamer", PriceStreamer)
ENGINE = web.AppKey("engine", TradingEngine)
MONITOR = web.AppKey("monitor", Monitor)
ALERTS = web.AppKey("alerts", AlertService)
HISTORY = web.AppKey("history", Snapshots)
BOARD = web.AppKey("board", Leaderboard)
FORECASTS = web.AppKey("forecasts", Forecaster)
INTEL = web.AppKey("intel", IntelService)
OUTBOX = web.AppKey("outbox", OutboxWorker)
LIMITS = web.AppKey("limits", Limits)
# Set when REDIS_URL is: this process's part in the cluster.
CLUSTER: web.AppKey[Cluster | None] = web.AppKey("cluster")
# Set when NEWS_ENABLED is: fetches the news feeds (alone, or while leading).
NEWS: web.AppKey[NewsPoller | None] = web.AppKey("news")
