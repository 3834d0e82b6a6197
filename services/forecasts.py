"""Forecasts per symbol and timeframe: fitted off the event loop, kept until a candle
closes, one fit however many ask at once.

A fit (services/forecast_model.py) is CPU-bound numerical Python: seconds on a
few hundred closes, much of it holding the GIL, so a thread would stall every
request and tick on this process's loop. It runs in a pool of worker processes
(spawned, not forked: the server holds threads and sockets a fork would copy),
started on the first fit, so a server nobody asks for forecasts never starts one.

    cache      (symbol, timeframe) -> the last Forecast. It serves every request until
               the current period ends; then the closed candles are read again, and
               refitted only if a newer one closed (a market that is shut keeps its).
    in flight  (symbol, timeframe) -> the task refreshing it: concurrent requests
               for the same key await that one task (no stampede).
    capacity   at most max_fits fits run or wait for a worker at once; a request that
               needs another is refused at once (503 unavailable), as is one whose fit
               takes longer than fit_timeout (the fit's slot stays taken until its
               worker is done with it, so the cap counts real work).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from config.settings import ForecastSettings
from feeds.candles import CandleKeeper
from trading.candles import TIMEFRAMES, period_start
from trading.errors import InsufficientHistory, Unavailable
from trading.forecast import HORIZON_MAX, MIN_HISTORY, Fit, Forecast

log = logging.getLogger(__name__)

Key = tuple[str, str]
RETRY_AFTER = 5


def fit_in_worker(closes: list[float], horizon: int) -> Fit:
    """services.forecast_model.fit, imported in the worker only (statsmodels and pandas
    stay out of the server's own process)."""
    from services.forecast_model import fit
    return fit(closes, horizon)


class Forecaster:
    def __init__(self, candles: CandleKeeper, settings: ForecastSettings,
                 clock: Callable[[], datetime]) -> None:
        self.candles, self.settings, self.clock = candles, settings, clock
        self.cache: dict[Key, tuple[int, Forecast]] = {}  # key -> (period served, forecast)
        self.in_flight: dict[Key, asyncio.Task[Forecast]] = {}
        self.running = 0  # fits running or waiting for a worker
        self.fits = 0  # fits started since start-up
        self.pool: ProcessPoolExecutor | None = None

    async def forecast(self, symbol: str, timeframe: str) -> Forecast:
        """The forecast of a symbol's closes on a timeframe, from the cache if no candle
        closed since it was fitted. InsufficientHistory, NoForecast, Unavailable."""
        key = (symbol, timeframe)
        period = period_start(self.clock().timestamp(), TIMEFRAMES[timeframe])
        cached = self.cache.get(key)
        if cached is not None and cached[0] == period:
            return cached[1]
        task = self.in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._refresh(key, period), name=f"forecast {key}")
            self.in_flight[key] = task
            task.add_done_callback(lambda done: self._landed(key, done))
        # A request that goes away does not cancel the fit others wait on.
        return await asyncio.shield(task)

    def _landed(self, key: Key, task: asyncio.Task[Forecast]) -> None:
        if self.in_flight.get(key) is task:
            del self.in_flight[key]
        if not task.cancelled():
            task.exception()  # retrieved: every waiter has been told, or none is left

    async def _refresh(self, key: Key, period: int) -> Forecast:
        symbol, timeframe = key
        closed, _ = await self.candles.page(symbol, timeframe, 0, period - 1,
                                            self.settings.window, forward=False)
        if len(closed) < MIN_HISTORY:
            raise InsufficientHistory(
                f"A forecast of {symbol} on {timeframe} needs at least {MIN_HISTORY} closed "
                f"candles; there are {len(closed)}.",
                details={"candles": len(closed), "needed": MIN_HISTORY})
        last = closed[-1]
        cached = self.cache.get(key)
        if cached is not None and (cached[1].last_start, cached[1].closes) == (last.start,
                                                                              len(closed)):
            forecast = cached[1]  # nothing closed since: the same fit serves this period
        else:
            fit = await self._fit([float(candle.close) for candle in closed])
            forecast = Forecast(fit, self.clock(), last.start, last.close, len(closed))
        self.cache[key] = (period, forecast)
        return forecast

    async def _fit(self, closes: list[float]) -> Fit:
        settings = self.settings
        if self.running >= settings.max_fits:
            raise Unavailable(f"The server is fitting as many forecasts as it takes at once "
                              f"({settings.max_fits}); try again in a few seconds.",
                              details={"retry_after": RETRY_AFTER})
        if self.pool is None:
            # Ctrl+C reaches the workers too: the server stops them itself, after
            # the fit under way.
            self.pool = ProcessPoolExecutor(settings.workers,
                                            mp_context=multiprocessing.get_context("spawn"),
                                            initializer=signal.signal,
                                            initargs=(signal.SIGINT, signal.SIG_IGN))
        self.running += 1
        self.fits += 1
        try:
            work = asyncio.get_running_loop().run_in_executor(
                self.pool, fit_in_worker, closes, HORIZON_MAX)
        except BaseException:
            self.running -= 1
            raise
        work.add_done_callback(self._fit_ended)
        try:
            return await asyncio.wait_for(asyncio.shield(work), settings.fit_timeout)
        except TimeoutError:
            raise Unavailable(f"The forecast took longer than {settings.fit_timeout:g} s to "
                              "fit; try again later.",
                              details={"retry_after": RETRY_AFTER}) from None
        except BrokenProcessPool:
            log.error("a forecast worker process died; starting new ones")
            self.pool = None
            raise Unavailable("The forecast worker stopped; try again.",
                              details={"retry_after": RETRY_AFTER}) from None

    def _fit_ended(self, work: asyncio.Future[Fit]) -> None:
        self.running -= 1
        if not work.cancelled():
            work.exception()  # told to the request that waited, or it timed out

    async def aclose(self) -> None:
        """Stop refreshing; stop the workers (a fit under way ends first)."""
        for task in list(self.in_flight.values()):
            task.cancel()
        if self.pool is not None:
            pool, self.pool = self.pool, None
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
