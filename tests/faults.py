"""Randomized trading traffic while the server, Redis and the database fail; after each
recovery, check that nothing was lost or doubled.

    python -m tests.faults --rounds 30 --seed 7

Runs its own database (secantusd-rs), redis-server and one `run.py` (with REDIS_URL, so it is a
one-process cluster: feeds and monitor as in production). Each round
places orders with stop-losses (some sent twice with the same client_order_id),
exits some trades, moves the price through Redis, then injects one fault in
turn: `kill -9` of the server during a burst of orders, redis-server stopped
and started, or `kill -9` of the database during a burst of orders, then
started again (requests meanwhile must get 503 quickly, and /readyz must say
so). After recovery it checks:

- every order the server acknowledged exists, once per client_order_id;
- every filled order opened exactly one trade;
- every exit moved cash once (one ledger entry per exit with a non-zero PnL);
- the books balance for every account (`store.check`);
- every queued in-app notification was delivered exactly once.

tests/e2e/test_faults.py runs three rounds (one of each fault) in the suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient

from services.cluster import channel_names, quote_message
from store.check import check_books
from store.layout import laid_out
from tests.processes import ServerProcess
from tests.services import DatabaseProcess, RedisProcess
from trading.market import Quote

SECRET = "faults-" + "s" * 40
PASSWORD = "fault password 1"
FAULTS = ("kill_server", "bounce_redis", "bounce_database")
UNAVAILABLE_WITHIN = 3.0  # seconds for a request to be answered 503 while the database is down


@dataclass
class Report:
    rounds: int = 0
    orders_acked: int = 0
    duplicates_sent: int = 0
    exits: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    slowest_503: float = 0.0

    def line(self) -> str:
        return (f"{self.rounds} rounds, faults {self.faults}, {self.orders_acked} orders "
                f"acknowledged ({self.duplicates_sent} sent twice), {self.exits} exits; "
                f"slowest 503 while the database was down {self.slowest_503:.2f} s; "
                f"{len(self.problems)} problems")


class Run:
    def __init__(self, workdir: Path, seed: int) -> None:
        self.workdir = workdir
        self.random = random.Random(seed)
        self.report = Report()
        self.price = Decimal(100)
        self.tokens: dict[str, str] = {}
        self.acked: dict[str, dict[str, Any]] = {}  # order id -> order as acknowledged
        self.sequence = 0

    async def run(self, rounds: int) -> Report:
        db_name = "faults"
        database = DatabaseProcess(self.workdir / "db")
        redis_server = RedisProcess(self.workdir)
        quiet = self.workdir / "quiet.csv"
        quiet.write_text("ts,symbol,price\n0,XYZ,1\n")
        env = {"MONGO_URI": database.uri, "MONGO_DB": db_name,
               "REDIS_URL": redis_server.url, "JWT_SECRET": SECRET,
               "MARKET_SYMBOLS": "replay:AAPL,XYZ", "REPLAY_FILE": str(quiet),
               "REPLAY_LOOP": "false", "LOG_LEVEL": "WARNING",
               "RATE_USER_PER_MINUTE": "0", "RATE_AUTH_PER_IP_PER_MINUTE": "0",
               "RATE_SOCKET_PER_SECOND": "0", "RATE_LOGIN_FAILURES": "0",
               # A delivery cut off by a fault is tried again once its lease (twice the
               # send timeout) or its retry delay has passed: short here, so that the
               # checks' wait for delivery covers them.
               "NOTIFY_SEND_TIMEOUT": "5", "NOTIFY_RETRY_FIRST": "1", "NOTIFY_RETRY_MAX": "5"}
        server = ServerProcess(self.workdir, **env)
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(database.uri)
        self.db = laid_out(mongo, db_name)
        self.ticks = channel_names(f"paperdesk:{db_name}")[1]
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as http:
                self.http, self.server = http, server
                await server.start()
                await server.lead(within=60)
                await self.tick(redis_server)
                for n in range(3):
                    await self.register(f"user{n}@example.com")
                for number in range(rounds):
                    fault = FAULTS[number % len(FAULTS)]
                    await self.traffic(redis_server)
                    if fault == "kill_server":
                        await self.kill_server_mid_burst()
                    elif fault == "bounce_redis":
                        redis_server = await self.bounce_redis(redis_server)
                    else:
                        database = await self.bounce_database(database)
                    self.report.faults[fault] = self.report.faults.get(fault, 0) + 1
                    await self.tick(redis_server)
                    await self.check(f"round {number + 1} ({fault})")
                    self.report.rounds += 1
                await self.check("at the end", final=True)
                await server.stop()
        finally:
            server.kill()
            await mongo.close()
            redis_server.stop()
            database.stop()
        return self.report

    # -- traffic ------------------------------------------------------------

    def _cents(self, low: int, high: int) -> Decimal:
        """A random amount from low to high cents, exactly."""
        return Decimal(self.random.randint(low, high)) / 100

    async def call(self, method: str, path: str, token: str | None = None,
                   body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, self.server.url + path, json=body,
                                     headers=headers) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None

    async def register(self, email: str) -> None:
        status, _ = await self.call("POST", "/api/v1/auth/register", body={
            "email": email, "password": PASSWORD, "name": "Fault"})
        assert status == 201, status
        _, tokens = await self.call("POST", "/api/v1/auth/login",
                                    body={"email": email, "password": PASSWORD})
        self.tokens[email] = tokens["access_token"]

    async def tick(self, redis_server: RedisProcess) -> None:
        """Move the price a little and publish it as the leader's feed would."""
        self.price = max(Decimal(50), self.price + self._cents(-150, 150))
        quote = Quote("AAPL", self.price, datetime.now(UTC), "replay")
        client = aioredis.from_url(redis_server.url)
        try:
            await client.publish(self.ticks, quote_message([quote]))
        finally:
            await client.aclose()

    async def place(self, token: str, repeat: bool) -> None:
        self.sequence += 1
        body = {"symbol": "AAPL", "side": "buy", "quantity": "1",
                "stop_loss": str(self.price - self._cents(20, 200)),
                "client_order_id": f"fault-{self.sequence}"}
        for _ in range(2 if repeat else 1):
            try:
                status, answer = await self.call("POST", "/api/v1/orders", token, body)
            except (aiohttp.ClientError, TimeoutError):
                continue  # no answer: the order may or may not exist; checked as such
            if status == 201:
                order = answer["order"]
                previous = self.acked.setdefault(order["id"], order)
                if previous["client_order_id"] != order["client_order_id"]:
                    self.report.problems.append(f"order id {order['id']} reused")
                self.report.orders_acked += 1
        if repeat:
            self.report.duplicates_sent += 1

    async def traffic(self, redis_server: RedisProcess) -> None:
        for token in self.tokens.values():
            for _ in range(2):
                await self.place(token, repeat=self.random.random() < 0.3)
            _, trades = await self.call("GET", "/api/v1/trades?status=open", token)
            for trade in trades["trades"][: self.random.randint(0, 2)]:
                status, _ = await self.call("POST", f"/api/v1/trades/{trade['id']}/exit",
                                            token, {})
                self.report.exits += status == 200
        for _ in range(3):
            await self.tick(redis_server)

    # -- faults -------------------------------------------------------------

    async def kill_server_mid_burst(self) -> None:
        burst = [asyncio.create_task(self.place(token, repeat=False))
                 for token in self.tokens.values() for _ in range(3)]
        await asyncio.sleep(self.random.uniform(0.0, 0.05))  # some are under way
        self.server.kill()
        await asyncio.gather(*burst, return_exceptions=True)
        assert self.server.process is not None
        await self.server.process.wait()
        await self.server.start()
        await self.server.lead(within=60)

    async def bounce_redis(self, redis_server: RedisProcess) -> RedisProcess:
        redis_server.stop()
        token = next(iter(self.tokens.values()))
        status, _ = await self.call("GET", "/api/v1/account", token)  # REST does not need it
        if status != 200:
            self.report.problems.append(f"GET /account answered {status} without Redis")
        restarted = RedisProcess(self.workdir, port=redis_server.port)
        await self.server.lead(within=20)
        return restarted

    async def bounce_database(self, database: DatabaseProcess) -> DatabaseProcess:
        """kill -9 the database in the middle of a burst of orders, then start it again:
        every order acknowledged before must be there, whole (the checks)."""
        burst = [asyncio.create_task(self.place(token, repeat=False))
                 for token in self.tokens.values() for _ in range(3)]
        await asyncio.sleep(self.random.uniform(0.0, 0.05))  # some are under way
        database.kill()
        await asyncio.gather(*burst, return_exceptions=True)
        token = next(iter(self.tokens.values()))
        started = time.monotonic()
        try:
            status, _ = await self.call("GET", "/api/v1/account", token)
        except (aiohttp.ClientError, TimeoutError):
            status = 0
        took = time.monotonic() - started
        self.report.slowest_503 = max(self.report.slowest_503, took)
        if status != 503 or took > UNAVAILABLE_WITHIN:
            self.report.problems.append(f"with the database down: {status} after {took:.1f} s")
        ready, _ = await self.call("GET", "/readyz")
        if ready != 503:
            self.report.problems.append(f"/readyz answered {ready} with the database down")
        restarted = DatabaseProcess(self.workdir / "db", port=database.port)
        try:
            await self.server.lead(within=30)
        except BaseException:
            restarted.stop()
            raise
        return restarted

    # -- checks -------------------------------------------------------------

    async def settled(self, within: float = 30) -> None:
        """Wait until no notification is waiting to be delivered (money moves are
        transactions: nothing of theirs is ever pending)."""
        deadline = time.monotonic() + within
        while True:
            busy = {"notifications": await self.db["outbox"].count_documents(
                {"status": {"$in": ["pending", "sending"]}})}
            if not any(busy.values()):
                return
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
        pending = ", ".join(f"{n} {what}" for what, n in busy.items() if n)
        self.report.problems.append(f"still pending after {within} s: {pending}")

    async def check(self, when: str, final: bool = False) -> None:
        """The checks. A round's last tick may still set off exits while they run, and
        the checks read trades, ledger and accounts one after another: so in a round
        that is not the last, checks that find problems wait for pending steps and
        run again (up to three times; a real fault does not go away by waiting). The
        final check (no tick before it) runs once."""
        for _ in range(1 if final else 4):
            await self.settled()
            problems = await self.problems(when, final)
            if not problems:
                break
        self.report.problems += problems

    async def problems(self, when: str, final: bool) -> list[str]:
        problems: list[str] = []
        orders = {o["_id"]: o async for o in self.db["orders"].find({})}
        for order_id in self.acked:
            if order_id not in orders:
                problems.append(f"{when}: acknowledged order {order_id} is missing")
        seen: dict[tuple[str, str], int] = {}
        for order in orders.values():
            key = (order["user_id"], order["client_order_id"])
            seen[key] = seen.get(key, 0) + 1
        problems += [f"{when}: {n} orders for {key}" for key, n in seen.items() if n > 1]
        trades = [t async for t in self.db["trades"].find({})]
        per_order: dict[str, int] = {}
        for trade in trades:
            per_order[trade["order_id"]] = per_order.get(trade["order_id"], 0) + 1
        for order in orders.values():
            opened = per_order.get(order["_id"], 0)
            if opened != (1 if order["status"] == "filled" else 0):
                problems.append(f"{when}: order {order['_id']} ({order['status']}) opened "
                                f"{opened} trades")
        for trade in trades:
            if trade.get("pending") is not None and not final:
                continue  # an exit the last tick set off after the wait: checked later
            moved = sum(1 for e in trade["exits"] if e["pnl"] != 0)
            entries = await self.db["ledger"].count_documents(
                {"reference": trade["_id"], "reason": "realized_pnl"})
            if entries != moved:
                ledger = [{k: e[k] for k in ("_id", "amount", "at")} async for e in
                          self.db["ledger"].find({"reference": trade["_id"]})]
                shown = {k: trade.get(k) for k in ("status", "quantity", "pending", "exits",
                                                   "close_reason", "opened_at")}
                problems.append(f"{when}: trade {trade['_id']} has {moved} paying exits "
                                f"and {entries} ledger entries: {shown} {ledger}")
        problems += [f"{when}: books: {p}" for p in await check_books(self.db)]
        async for row in self.db["outbox"].find({"channel": "in_app", "status": "sent"}):
            notes = await self.db["notifications"].count_documents({"_id": row["_id"]})
            if notes != 1:
                problems.append(f"{when}: notification {row['_id']} delivered {notes} times")
        return problems


async def run_faults(rounds: int, seed: int, workdir: Path) -> Report:
    return await Run(workdir, seed).run(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="paperdesk-faults-") as workdir:
        report = asyncio.run(run_faults(args.rounds, args.seed, Path(workdir)))
    print(report.line())
    for problem in report.problems:
        print("  " + problem)
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
