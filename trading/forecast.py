"""Forecasts of a symbol's closes: what a fit gives, its backtest, and its wire form.

The model itself (services/forecast_model.py) fits an exponential-smoothing
model to the log of the newest closed candles and says, for HORIZON_MAX periods
ahead, the mean and the 80 % and 95 % bounds. A rolling-origin backtest refits
it at a few earlier points (the origins) and keeps, per origin and step ahead,
the model's and the naive forecast's errors (the naive forecast: every future
close equals the last one seen). Here those become the numbers a client reads.

    MAPE: mean absolute percentage error, in percent.
    MASE: mean absolute error over the mean absolute one-step change of the closes
          up to the origin (Hyndman & Koehler, 2006); the naive forecast's one-step
          MASE is 1 by construction, and grows with the steps ahead on a trend.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from itertools import pairwise
from typing import Any

from trading.money import show

ONE = Decimal(1)
HORIZON_MAX = 500
HORIZON_DEFAULT = 60
# Fewer closed candles than this are refused (insufficient_history): the backtest's
# earliest origin still has 40 closes to fit on.
MIN_HISTORY = 100
ORIGINS = 5
# How much lower the model's MASE must be than the naive forecast's to beat it.
BEATS_BY = 0.01
DISCLAIMER = ("Not investment advice: a statistical extrapolation of past closes, which "
              "knows nothing about news or events. Its bands are where the model expects "
              "prices if the past pattern holds; markets often move outside them.")


@dataclass(frozen=True, slots=True)
class Errors:
    """One forecast's absolute and absolute percentage errors at steps 1, 2, ..."""

    absolute: list[float]
    percent: list[float]


@dataclass(frozen=True, slots=True)
class Origin:
    """The backtest at one origin: the model's and the naive forecast's errors, and the
    scale of MASE (the mean absolute one-step change of the closes before it)."""

    at: int  # how many closes the model was fitted on
    scale: float
    model: Errors
    naive: Errors


@dataclass(frozen=True, slots=True)
class Fit:
    """What a fit gives (plain floats, so that it crosses a process boundary)."""

    name: str  # e.g. "ETS(A,Ad,N)"
    params: dict[str, float]
    aicc: float
    observations: int
    # Prices at steps 1..HORIZON_MAX after the last close.
    mean: list[float]
    lo80: list[float]
    hi80: list[float]
    lo95: list[float]
    hi95: list[float]
    origins: list[Origin] = field(default_factory=list)

    @property
    def backtest_horizon(self) -> int:
        """The most steps ahead every origin was checked on."""
        return min((len(origin.model.absolute) for origin in self.origins), default=0)


@dataclass(frozen=True, slots=True)
class Backtest:
    origins: int
    horizon: int
    mape: float | None
    mase: float | None
    naive_mape: float | None
    naive_mase: float | None

    @property
    def beats_naive(self) -> bool:
        """Whether the model's MASE is lower than the naive forecast's by more than
        BEATS_BY (a model that has become the naive forecast does not beat it)."""
        return self.mase is not None and self.naive_mase is not None \
            and self.mase < self.naive_mase * (1 - BEATS_BY)


def backtest_origins(count: int, horizon: int, origins: int = ORIGINS) -> list[int]:
    """Where to cut count closes for a backtest of horizon steps: the newest origin
    leaves exactly horizon closes after it, the others are horizon/2 apart before it."""
    stride = max(1, horizon // 2)
    return sorted(at for k in range(origins) if (at := count - horizon - k * stride) >= 2)


def backtest_horizon(count: int, horizon: int = HORIZON_MAX) -> int:
    """How many steps ahead a backtest on count closes checks: at most a fifth of them."""
    return max(1, min(horizon, count // 5))


def errors(actual: Sequence[float], predicted: Sequence[float]) -> Errors:
    absolute = [abs(a - p) for a, p in zip(actual, predicted, strict=True)]
    return Errors(absolute, [100 * e / abs(a) for e, a in zip(absolute, actual, strict=True)])


def mean_change(closes: Sequence[float]) -> float:
    """The mean absolute one-step change (the naive forecast's in-sample error)."""
    steps = len(closes) - 1
    return sum(abs(b - a) for a, b in pairwise(closes)) / steps \
        if steps > 0 else 0.0


def summarize(origins: Sequence[Origin], horizon: int) -> Backtest:
    """The backtest over the first horizon steps after each origin (fewer if the
    backtest checked fewer)."""
    steps = min([horizon, *(len(origin.model.absolute) for origin in origins)])
    if not origins or steps < 1:
        return Backtest(0, 0, None, None, None, None)

    def mape(pick: Callable[[Origin], Errors]) -> float:
        return _mean([_mean(pick(origin).percent[:steps]) for origin in origins])

    def mase(pick: Callable[[Origin], Errors]) -> float | None:
        if any(origin.scale <= 0 for origin in origins):
            return None  # flat closes: no scale
        return _mean([_mean(pick(origin).absolute[:steps]) / origin.scale
                      for origin in origins])

    return Backtest(len(origins), steps, mape(lambda o: o.model), mase(lambda o: o.model),
                    mape(lambda o: o.naive), mase(lambda o: o.naive))


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def to_tick(value: float | Decimal, tick: Decimal) -> Decimal:
    """A price rounded to the nearest multiple of tick (half to even)."""
    price = value if isinstance(value, Decimal) else Decimal(repr(value))
    if not price.is_finite():
        raise ValueError(f"not a price: {value}")
    with localcontext() as context:
        context.prec = 60
        return (price / tick).quantize(ONE, ROUND_HALF_EVEN) * tick


def ratio(value: float | None, places: int = 4) -> str | None:
    """A metric as a decimal string."""
    return None if value is None else f"{value:.{places}f}"


@dataclass(frozen=True, slots=True)
class Forecast:
    """A fit of one symbol and timeframe, and what it was fitted on."""

    fit: Fit
    generated_at: datetime
    last_start: int  # epoch seconds: the start of the newest close fitted on
    last_close: Decimal
    closes: int  # how many closes were fitted on
    # The points rendered so far (a request for a longer horizon renders more).
    points: list[dict[str, Any]] = field(default_factory=list, compare=False)


def forecast_view(symbol: str, timeframe: str, seconds: int, horizon: int,
                  forecast: Forecast, tick: Callable[[Decimal], Decimal]) -> dict[str, Any]:
    """The wire form: prices as decimal strings on the symbol's tick; t in epoch ms,
    the start of each period after the last closed one. The points are rendered
    once per forecast, into forecast.points, as far as a request has asked."""
    fit = forecast.fit

    def price(value: float) -> str:
        exact = Decimal(repr(value))
        return show(to_tick(exact, tick(exact)))

    points = forecast.points
    for step in range(len(points) + 1, horizon + 1):
        points.append({"t": (forecast.last_start + step * seconds) * 1000,
                       "mean": price(fit.mean[step - 1]),
                       "lo80": price(fit.lo80[step - 1]), "hi80": price(fit.hi80[step - 1]),
                       "lo95": price(fit.lo95[step - 1]), "hi95": price(fit.hi95[step - 1])})
    backtest = summarize(fit.origins, horizon)
    return {
        "symbol": symbol, "timeframe": timeframe, "horizon": horizon,
        "generated_at": forecast.generated_at.isoformat().replace("+00:00", "Z"),
        "last_close": show(forecast.last_close),
        "model": {"name": fit.name, "on": "log close", "criterion": "aicc",
                  "aicc": ratio(fit.aicc), "observations": fit.observations,
                  "params": {name: ratio(value, 6) for name, value in fit.params.items()}},
        "points": points[:horizon],
        "backtest": {"origins": backtest.origins, "horizon": backtest.horizon,
                     "mape": ratio(backtest.mape), "mase": ratio(backtest.mase),
                     "naive_mape": ratio(backtest.naive_mape),
                     "naive_mase": ratio(backtest.naive_mase),
                     "beats_naive": backtest.beats_naive},
        "disclaimer": DISCLAIMER,
    }
