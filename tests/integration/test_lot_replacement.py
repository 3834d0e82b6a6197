"""A lot a fill closes is written whole (Writes.replace_later) from the transaction's
snapshot: a write another writer made to the lot meanwhile must not be lost under it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from bson import Decimal128, Int64
from bson.raw_bson import RawBSONDocument

from services.context import applied
from store.store import Store
from store.unit_of_work import Writes

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
CLOSE = {"$inc": {"quantity": -5, "margin": -100, "realized_pnl": 7, "fees": 1},
         "$push": {"exits": {"quantity": 5, "price": 11, "pnl": 7, "reason": "order", "at": NOW}},
         "$set": {"status": "closed", "closed_at": NOW, "close_price": 11,
                  "close_reason": "order"}}


async def lot(store: Store) -> None:
    await store.db["trades"].insert_one({
        "_id": "t1", "user_id": "u1", "symbol": "AAPL", "side": "buy", "quantity": 5,
        "margin": 100, "realized_pnl": 0, "fees": 0, "status": "open", "pending": None,
        "stop_loss": None, "trail_best": 10, "exits": [], "opened_at": NOW})


async def modify(store: Store) -> None:
    assert await store.trades.modify("u1", "t1", {"stop_loss": 9}, NOW) is not None


async def trail(store: Store) -> None:
    await store.trades.save_trail_best("t1", 12)


def close(writes: Writes, read: dict, how: str) -> None:
    if how == "replace":
        writes.replace_later("trades", "t1", applied(read, CLOSE))
    else:
        writes.update_later("trades", "t1", {}, CLOSE)


async def close_racing(store: Store, how: str, other: Callable[[Store], Awaitable[None]],
                       *, first: str = "trades") -> tuple[dict, int]:
    """Close the lot in a unit of work whose first attempt lets other write once the
    transaction's first read (of first: the lot, or an order read before it) is made;
    the lot as it ends, closed, and how many attempts the unit of work took."""
    attempts = 0

    async def work(writes: Writes) -> None:
        nonlocal attempts
        attempts += 1
        read = await writes.get(first, "o1" if first == "orders" else "t1")
        if attempts == 1:
            await other(store)
        if first == "orders":
            read = await writes.get("trades", "t1")
        close(writes, read, how)

    await store.unit_of_work.run(work)
    final = await store.db["trades"].find_one({"_id": "t1"})
    assert final["status"] == "closed" and final["quantity"] == 0 and len(final["exits"]) == 1
    return final, attempts


@pytest.mark.parametrize("how", ["update", "replace"])
@pytest.mark.parametrize("other", [modify, trail], ids=["modify", "save_trail_best"])
async def test_a_write_between_the_snapshot_and_the_close_is_not_lost(store, how, other):
    """Another writer changes the lot after the unit of work read it, before it writes
    it: the unit of work conflicts and starts again, so the lot ends closed with the
    other write's field as that writer left it."""
    await lot(store)
    final, attempts = await close_racing(store, how, other)
    if other is modify:
        assert final["stop_loss"] == 9, (attempts, final)
    else:
        assert final["trail_best"] == 12, (attempts, final)


@pytest.mark.parametrize("how", ["update", "replace"])
async def test_a_write_after_the_close_before_its_commit_waits_and_finds_it_closed(store, how):
    """Another writer changes the lot after the unit of work wrote it, before it commits:
    that write waits for the commit, then its guard (status open) finds the lot closed."""
    await lot(store)
    waiting: list = []

    async def work(writes: Writes) -> None:
        read = await writes.get("trades", "t1")
        close(writes, read, how)
        await writes.flush()
        if not waiting:
            task = asyncio.ensure_future(store.trades.keyed.update(
                "t1", {"status": "open"}, {"$set": {"trail_best": 12}}))
            done, _ = await asyncio.wait([task], timeout=0.5)
            assert not done
            waiting.append(task)

    await store.unit_of_work.run(work)
    assert await asyncio.wait_for(waiting[0], 5) is None
    final = await store.db["trades"].find_one({"_id": "t1"})
    assert (final["status"], final["quantity"], len(final["exits"]), final["trail_best"]) == (
        "closed", 0, 1, 10)


async def modify_in_a_unit_of_work(store: Store) -> None:
    async def work(writes: Writes):
        return await writes.update("trades", "t1", {"status": "open"},
                                   {"$set": {"stop_loss": 9}})
    assert await store.unit_of_work.run(work) is not None


async def modify_later_in_a_unit_of_work(store: Store) -> None:
    async def work(writes: Writes):
        read = await writes.get("trades", "t1")
        writes.update_later("trades", "t1", {"status": "open"}, {"$set": {"stop_loss": 9}})
        return read
    await store.unit_of_work.run(work)


@pytest.mark.parametrize("how", ["update", "replace"])
@pytest.mark.parametrize("other", [modify_in_a_unit_of_work, modify_later_in_a_unit_of_work])
async def test_a_unit_of_work_committed_between_the_snapshot_and_the_close_is_not_lost(
        store, how, other):
    await lot(store)
    final, attempts = await close_racing(store, how, other)
    assert final["stop_loss"] == 9, (attempts, final)
    assert attempts == 2


@pytest.mark.parametrize("how", ["update", "replace"])
@pytest.mark.parametrize("other", [modify, trail, modify_in_a_unit_of_work],
                         ids=["modify", "save_trail_best", "unit_of_work"])
async def test_a_write_after_the_snapshot_before_the_lot_is_read_is_not_lost(store, how, other):
    """The transaction's snapshot is taken by its first read (a resting fill reads its
    order first); another writer changes the lot after it, before the lot is read."""
    await lot(store)
    await store.db["orders"].insert_one({"_id": "o1", "user_id": "u1", "status": "open"})
    final, attempts = await close_racing(store, how, other, first="orders")
    if other is trail:
        assert final["trail_best"] == 12, (attempts, final)
    else:
        assert final["stop_loss"] == 9, (attempts, final)


async def test_a_lot_written_whole_is_the_lot_the_update_would_make(store):
    """Field by field, BSON types included: the replacement stores what the update
    stores, for a lot with every kind of field a lot holds (and one it exited before)."""
    base = {"user_id": "u1", "symbol": "EURUSD", "side": "sell", "quantity": Int64(5),
            "initial_quantity": Int64(8), "entry_price": Int64(108_000_000),
            "margin": Int64(2**40), "realized_pnl": Int64(-3), "fees": Int64(1),
            "status": "open", "pending": None, "stop_loss": None, "trail_best": Int64(7),
            "trailing_percent": 1.5, "rate": Decimal128("1.0800"), "fx_invert": True,
            "exits": [{"quantity": Int64(3), "price": Int64(11), "pnl": Int64(-3),
                       "reason": "order", "at": datetime(2026, 1, 5, 11, 0, 0, 123000,
                                                         tzinfo=UTC)}],
            "opened_at": datetime(2026, 1, 5, 10, 0, 0, 999000, tzinfo=UTC)}
    for doc_id in ("u", "r"):
        await store.db["trades"].insert_one({"_id": doc_id, **base})

    async def work(writes: Writes) -> None:
        writes.update_later("trades", "u", {}, CLOSE)
        writes.replace_later("trades", "r", applied(await writes.get("trades", "r"), CLOSE))

    await store.unit_of_work.run(work)
    raw = store.db["trades"].with_options(
        codec_options=store.db["trades"].codec_options.with_options(
            document_class=RawBSONDocument))
    updated, replaced = [await raw.find_one({"_id": doc_id}) for doc_id in ("u", "r")]
    def fields(doc):
        return {key: (type(value).__name__, value) for key, value in doc.items()
                if key != "_id"}
    assert fields(updated) == fields(replaced)
    assert [dict(e) for e in updated["exits"]] == [dict(e) for e in replaced["exits"]]
