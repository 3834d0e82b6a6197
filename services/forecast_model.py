"""The forecast model: exponential smoothing (ETS) on log closes, with statsmodels.

Runs in a worker process (services/forecasts.py): ``fit`` takes plain floats and
returns a plain ``trading.forecast.Fit``.

Three candidates, all with additive errors on the log of the closes (so that the
bands are multiplicative in price, and never below zero): no trend (simple
exponential smoothing, which becomes the naive forecast as its alpha nears 1),
an additive trend, and a damped additive trend. The one with the lowest AICc
on the whole window is chosen. Prediction intervals are statsmodels' analytic
ones for additive models, turned back into prices; ``mean`` is exp of the mean
log price, the median of the forecast's distribution of prices.

The backtest refits the chosen candidate (not the choice) at each origin, on the
closes before it only, starting its optimizer from the full fit's parameters to
save time; what it forecasts is compared with the closes that followed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from statsmodels.tsa.exponential_smoothing.ets import ETSModel

from trading.errors import NoForecast
from trading.forecast import (
    HORIZON_MAX,
    Fit,
    Origin,
    backtest_horizon,
    backtest_origins,
    errors,
    mean_change,
)

# name -> ETSModel arguments besides the additive error
CANDIDATES: dict[str, dict[str, Any]] = {
    "ETS(A,N,N)": {"trend": None},
    "ETS(A,A,N)": {"trend": "add"},
    "ETS(A,Ad,N)": {"trend": "add", "damped_trend": True},
}
PARAM_NAMES = {"smoothing_level": "alpha", "smoothing_trend": "beta", "damping_trend": "phi"}
# A fit whose 95 % band runs past this many times the last close is refused (a trend
# that explodes over the horizon), as is one with non-finite numbers.
WILDEST = 1e6
MAXITER = 200


def _fit(logs: pd.Series, spec: dict[str, Any], start: Any = None) -> Any:
    with warnings.catch_warnings():
        # Convergence and optimizer chatter; a failed fit shows as non-finite numbers.
        warnings.simplefilter("ignore")
        model = ETSModel(logs, error="add", **spec)
        return model.fit(disp=False, maxiter=MAXITER, start_params=start)


def _bands(result: Any, steps: int) -> dict[str, np.ndarray]:
    n = result.nobs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prediction = result.get_prediction(start=n, end=n + steps - 1)
        f80, f95 = prediction.summary_frame(alpha=0.2), prediction.summary_frame(alpha=0.05)
    return {"mean": np.exp(f80["mean"].to_numpy()),
            "lo80": np.exp(f80["pi_lower"].to_numpy()), "hi80": np.exp(f80["pi_upper"].to_numpy()),
            "lo95": np.exp(f95["pi_lower"].to_numpy()), "hi95": np.exp(f95["pi_upper"].to_numpy())}


def _sane(bands: dict[str, np.ndarray], last: float) -> bool:
    return all(bool(np.isfinite(values).all()) for values in bands.values()) \
        and float(bands["hi95"].max()) < WILDEST * last


def fit(closes: Sequence[float], horizon: int = HORIZON_MAX) -> Fit:
    """Fit the candidates to closes (oldest first, all positive), forecast horizon steps
    ahead with the best, and backtest it; NoForecast if none fits."""
    values = np.asarray(closes, dtype=float)
    if values.size < 3 or not np.isfinite(values).all() or (values <= 0).any():
        raise NoForecast("A forecast needs at least three positive closes.")
    logs = pd.Series(np.log(values))
    last = float(values[-1])
    best: tuple[float, str, Any, dict[str, np.ndarray]] | None = None
    for name, spec in CANDIDATES.items():
        try:
            result = _fit(logs, spec)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if not math.isfinite(result.aicc):
            continue
        bands = _bands(result, horizon)
        if _sane(bands, last) and (best is None or result.aicc < best[0]):
            best = (result.aicc, name, result, bands)
    if best is None:
        raise NoForecast("No exponential-smoothing model fits these closes.")
    aicc, name, result, bands = best
    params = {PARAM_NAMES[key]: float(value)
              for key, value in zip(result.param_names, result.params, strict=True)
              if key in PARAM_NAMES}
    params["sigma"] = float(np.sqrt(result.mse))
    return Fit(name, params, float(aicc), int(values.size),
               mean=bands["mean"].tolist(), lo80=bands["lo80"].tolist(),
               hi80=bands["hi80"].tolist(), lo95=bands["lo95"].tolist(),
               hi95=bands["hi95"].tolist(),
               origins=backtest(values, CANDIDATES[name], result.params))


def backtest(values: np.ndarray, spec: dict[str, Any], start: Any) -> list[Origin]:
    """Refit spec at each origin on the closes before it; its errors and the naive
    forecast's over the closes after it."""
    steps = backtest_horizon(values.size)
    found = []
    for at in backtest_origins(values.size, steps):
        seen, actual = values[:at], values[at:at + steps].tolist()
        try:
            bands = _bands(_fit(pd.Series(np.log(seen)), spec, start), steps)
        except (ValueError, np.linalg.LinAlgError):
            continue
        if not _sane(bands, float(seen[-1])):
            continue
        found.append(Origin(at, mean_change(seen.tolist()),
                            errors(actual, bands["mean"].tolist()),
                            errors(actual, [float(seen[-1])] * steps)))
    return found
