"""PaperDesk from Python: log in, stream prices, buy with a stop-loss and a target, print
the position, follow the trade to the close, then print the account's latest activities
and its performance.

    .venv/bin/python client_examples/python/trade_until_stop.py \
        http://localhost:8000 ann@example.com 'correct horse battery'

Exits 0 once the stop-loss or the target has closed the trade. By default it buys
BTCUSDT (traded around the clock) with both levels 0.2% from the price, which the
simulated prices usually reach within a minute. Needs aiohttp and python-socketio
(both in the server's requirements, so the server's .venv runs it).
"""

import argparse
import asyncio
import sys
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

import aiohttp
import socketio


async def login(url: str, email: str, password: str) -> str | None:
    """Return an access token, or None (after saying why) when login fails."""
    async with aiohttp.ClientSession(url) as http:
        reply = await http.post("/api/v1/auth/login",
                                json={"email": email, "password": password})
        body = await reply.json()
    if reply.status != 200:
        print("login failed:", body["error"]["message"], file=sys.stderr)
        return None
    return str(body["access_token"])


async def price_increment(url: str, symbol: str) -> Decimal:
    """The symbol's tick: stop-loss and target prices are multiples of it."""
    async with aiohttp.ClientSession(url) as http, \
            http.get(f"/api/v1/assets/{symbol}") as reply:
        return Decimal((await reply.json())["asset"]["price_increment"])


def exit_levels(price: Decimal, tick: Decimal, stop_percent: Decimal,
                target_percent: Decimal) -> tuple[Decimal, Decimal]:
    """A long's stop-loss below price and target above it, on the tick grid."""
    stop = (price * (1 - stop_percent / 100) / tick).to_integral_value(ROUND_FLOOR) * tick
    target = (price * (1 + target_percent / 100) / tick).to_integral_value(ROUND_CEILING) * tick
    return min(stop, price - tick).quantize(tick), max(target, price + tick).quantize(tick)


async def show_position(url: str, token: str, symbol: str) -> None:
    """Print the user's net position in symbol (GET /api/v1/positions/{symbol})."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(url, headers=headers) as http, \
            http.get(f"/api/v1/positions/{symbol}") as reply:
        position = (await reply.json())["position"]
    print(f"position {position['side']} {position['quantity']} {position['symbol']},"
          f" average entry {position['average_entry']}")


async def show_history(url: str, token: str) -> None:
    """Print the latest account activities (newest first) and the performance."""
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(url, headers=headers) as http:
        async with http.get("/api/v1/account/activities", params={"limit": "5"}) as reply:
            activities = (await reply.json())["activities"]
        async with http.get("/api/v1/account/performance") as reply:
            performance = await reply.json()
    for activity in activities:
        if activity["activity_type"] == "fill":
            print(f"activity fill {activity['side']} {activity['qty']} {activity['symbol']}"
                  f" at {activity['price']}")
        else:
            print(f"activity {activity['activity_type']} {activity['net_amount']}")
    print(f"performance: realized {performance['realized_pnl']},"
          f" win rate {performance['win_rate_pct']}%,"
          f" max drawdown {performance['max_drawdown']} ({performance['max_drawdown_pct']}%)")


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("email")
    parser.add_argument("password")
    parser.add_argument("--symbol", default="BTCUSDT")
    parser.add_argument("--stop-percent", type=Decimal, default=Decimal("0.2"),
                        help="stop-loss this many percent below the price")
    parser.add_argument("--target-percent", type=Decimal, default=Decimal("0.2"),
                        help="target this many percent above the price")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the close")
    args = parser.parse_args()

    token = await login(args.url, args.email, args.password)
    if token is None:
        return 1

    sio = socketio.AsyncClient(reconnection=False)
    closed = asyncio.Event()

    @sio.on("live_price")
    async def on_price(quote: dict) -> None:
        print(f"price {quote['symbol']} {quote['price']} ({quote['source']})")

    @sio.on("trade_update")
    async def on_trade(update: dict) -> None:
        trade = update["trade"]
        what = f"{trade['side']} {trade['initial_quantity']} {trade['symbol']}"
        print(f"trade {update['event']}: {what} at {trade['entry_price']},"
              f" stop {trade['stop_loss']}, target {trade['target_price']}"
              + (f", closed at {trade['close_price']} ({update['reason']}),"
                 f" pnl {trade['realized_pnl']}" if update["event"] == "closed" else ""))
        if update["event"] == "closed":
            closed.set()

    await sio.connect(args.url, auth={"token": token}, transports=["websocket"])
    ack = await sio.call("subscribe", {"symbols": [args.symbol]})
    stop, target = exit_levels(Decimal(ack["quotes"][0]["price"]),
                               await price_increment(args.url, args.symbol),
                               args.stop_percent, args.target_percent)
    ack = await sio.call("place_order", {"symbol": args.symbol, "side": "buy", "quantity": "1",
                                         "stop_loss": str(stop), "target_price": str(target)})
    if not ack["ok"]:
        print("order refused:", ack["error"]["code"], ack["error"]["message"], file=sys.stderr)
        await sio.disconnect()
        return 1
    print(f"order {ack['order']['status']} at {ack['order']['filled_price']},"
          f" stop-loss {stop}, target {target}")
    await show_position(args.url, token, args.symbol)
    print(f"waiting up to {args.timeout:.0f} s for the price to reach {stop} or {target}")
    try:
        await asyncio.wait_for(closed.wait(), args.timeout)
    except TimeoutError:
        print(f"neither the stop-loss nor the target closed the trade in {args.timeout:.0f} s",
              file=sys.stderr)
        return 1
    finally:
        await sio.disconnect()
    await show_history(args.url, token)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
