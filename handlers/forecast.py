"""REST: GET /api/v1/predict/{symbol}, a forecast of a symbol's closes (not advice).

    horizon    periods ahead, 1 to 500 (default 60)
    timeframe  1m | 5m | 15m | 1h | 4h | 1d (default 1m)

Each may be given once. The model and its backtest: trading/forecast.py and
services/forecast_model.py.
"""

from __future__ import annotations

from aiohttp import web

from handlers import keys
from handlers.candle_params import timeframe_param
from handlers.common import json_ok
from handlers.validation import integer_param
from trading.candles import TIMEFRAMES
from trading.errors import InvalidInput
from trading.forecast import HORIZON_DEFAULT, HORIZON_MAX, forecast_view

routes = web.RouteTableDef()


@routes.get("/api/v1/predict/{symbol}")
async def predict(request: web.Request) -> web.Response:
    market = request.app[keys.MARKET]
    symbol = market.universe.resolve(request.match_info["symbol"])
    for name in ("horizon", "timeframe", "interval"):
        if len(request.query.getall(name, [])) > 1:
            raise InvalidInput(f"'{name}' may be given once.", field=name)
    horizon = integer_param(request, "horizon", default=HORIZON_DEFAULT, low=1, high=HORIZON_MAX)
    timeframe = timeframe_param(request)
    forecast = await request.app[keys.FORECASTS].forecast(symbol, timeframe)
    rules = market.universe.instruments[symbol].rules
    return json_ok(forecast_view(symbol, timeframe, TIMEFRAMES[timeframe], horizon, forecast,
                                 rules.tick))
