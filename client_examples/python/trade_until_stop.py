"""PaperDesk from Python: log in, stream prices, buy with a stop-loss, print the position,
follow the trade to the close, then print the account's latest activities and its
performance.

    python trade_until_stop.py http://localhost:8000 ann@example.com 'correct horse battery'

Exits 0 once the stop-loss has closed the trade. Needs aiohttp and
python-socketio (both in the server's requirements).
"""

import argparse
import asyncio
import sys
from decimal import Decimal

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
    parser.add_argument("--symbol", default="AAPL")
    parser.add_argument("--stop-distance", default="5", help="stop-loss this far below the fill")
    parser.add_argument("--timeout", type=float, default=60)
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
              f" stop {trade['stop_loss']}"
              + (f", closed at {trade['close_price']} ({update['reason']}),"
                 f" pnl {trade['realized_pnl']}" if update["event"] == "closed" else ""))
        if update["event"] == "closed":
            closed.set()

    await sio.connect(args.url, auth={"token": token}, transports=["websocket"])
    ack = await sio.call("subscribe", {"symbols": [args.symbol]})
    price = Decimal(ack["quotes"][0]["price"])
    stop = price - Decimal(args.stop_distance)
    ack = await sio.call("place_order", {"symbol": args.symbol, "side": "buy", "quantity": "1",
                                         "stop_loss": str(stop)})
    if not ack["ok"]:
        print("order refused:", ack["error"]["code"], ack["error"]["message"], file=sys.stderr)
        await sio.disconnect()
        return 1
    print(f"order {ack['order']['status']} at {ack['order']['filled_price']}, stop-loss {stop}")
    await show_position(args.url, token, args.symbol)
    try:
        await asyncio.wait_for(closed.wait(), args.timeout)
    except TimeoutError:
        print("the stop-loss did not close the trade in time", file=sys.stderr)
        return 1
    finally:
        await sio.disconnect()
    await show_history(args.url, token)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
