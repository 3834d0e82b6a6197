"""Finish or abandon trading steps a crash cut short (run once at start-up)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from server.engine import TradingEngine
from server.reset import finish_reset

log = logging.getLogger(__name__)


def everything(key: str, node: str | None) -> bool:
    return True


async def recover_trading(engine: TradingEngine,
                          stuck: Callable[[str, str | None], bool] = everything) -> int:
    """Bring every order, trade and account to a consistent state; return steps repaired.

    stuck(key, node) says whether an unfinished step, begun by process node,
    is abandoned (at start-up of a lone process, all are); the others are left
    to their running owners.

    An order whose account step never happened is rejected ("interrupted"):
    its client got no answer, so filling it later at another price would
    surprise them. Once the account has moved, the step is completed. (A
    claim whose order was never stored is rejected by the first retry that
    meets it, in TradingEngine.settle_claim.) Cancellations are always completed:
    the order was already claimed for them. Market orders and exits are
    transactions, and leave nothing half-done.
    """
    store, repaired = engine.store, 0
    for order in await store.orders.interrupted():
        step = order.get("pending")
        if not stuck(f"order:{order['_id']}:{step['op'] if step else order['status']}",
                     step.get("node") if step else None):
            continue
        repaired += 1
        user_id = order["user_id"]
        if step is None:  # inserted, never started
            await engine.resting.reject(order, "interrupted")
        elif step["op"].startswith("release:"):
            await engine.resting.release(order)
        elif await store.accounts.has_op(user_id, step["op"]):
            if step["op"].startswith(("open:", "fill:")):
                await engine.finish_open(order)
            else:
                await engine.resting.finish_reserve(order)
        elif step["op"].startswith("fill:"):
            # The fill never reached the account: the order rests again, and the
            # monitor fills it on the next tick that crosses its price.
            await store.orders.update(order["_id"], {"pending.op": step["op"]},
                                      {"pending": None})
        else:
            await engine.resting.reject(order, "interrupted")
    async for account in store.db["accounts"].find({"pending_reset": {"$ne": None}}):
        if not stuck(f"reset:{account['_id']}:{account['pending_reset']['op']}",
                     account["pending_reset"].get("node")):
            continue
        repaired += 1
        await finish_reset(engine, account)
    # Ops whose owner finished but whose account marker was not yet cleared.
    async for account in store.db["accounts"].find({"pending_ops.0": {"$exists": True}}):
        for op in account["pending_ops"]:
            # The marker is what stops a second application of the op's cash move:
            # it stays while a step that would apply it is still journaled.
            if not stuck(f"account:{account['_id']}:{op}", None) or await _journaled(engine, op):
                continue
            await store.accounts.finish(account["_id"], op)
            repaired += 1
    if repaired:
        log.warning("recovered %d interrupted trading steps", repaired)
    return repaired


async def _journaled(engine: TradingEngine, op: str) -> bool:
    db = engine.store.db
    return await db["orders"].count_documents({"pending.op": op}, limit=1) > 0
