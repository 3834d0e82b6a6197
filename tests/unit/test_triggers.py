"""The trigger index: crossing rules, gaps, removal, and one leg winning."""

from decimal import Decimal as D

import pytest

from trading.orders import OrderType, Side
from trading.triggers import Direction, Kind, Trigger, TriggerIndex, entry_direction, exit_direction


def trigger(key: str, level: str, direction: Direction, kind: Kind = Kind.STOP_LOSS,
            ref: str | None = None, symbol: str = "AAA") -> Trigger:
    return Trigger(key, symbol, D(level), direction, kind, ref or key, "u")


@pytest.mark.parametrize(("side", "kind", "direction"), [
    (Side.BUY, Kind.STOP_LOSS, Direction.BELOW), (Side.BUY, Kind.TARGET, Direction.ABOVE),
    (Side.SELL, Kind.STOP_LOSS, Direction.ABOVE), (Side.SELL, Kind.TARGET, Direction.BELOW)])
def test_exit_directions(side, kind, direction):
    assert exit_direction(side, kind) == direction


@pytest.mark.parametrize(("side", "order_type", "direction"), [
    (Side.BUY, OrderType.LIMIT, Direction.BELOW), (Side.SELL, OrderType.LIMIT, Direction.ABOVE),
    (Side.BUY, OrderType.STOP, Direction.ABOVE), (Side.SELL, OrderType.STOP, Direction.BELOW)])
def test_entry_directions(side, order_type, direction):
    assert entry_direction(side, order_type) == direction


def test_a_tick_fires_exactly_the_levels_it_reaches_including_on_the_level():
    index = TriggerIndex()
    for level in ("90", "95", "100"):
        index.add(trigger(f"below-{level}", level, Direction.BELOW))
    for level in ("105", "110"):
        index.add(trigger(f"above-{level}", level, Direction.ABOVE))
    assert index.crossed("AAA", D("100.01")) == []
    assert [t.key for t in index.crossed("AAA", D(95))] == ["below-95", "below-100"]
    assert [t.key for t in index.crossed("AAA", D(110))] == ["above-105", "above-110"]
    # A gap straight through several levels fires them all.
    assert {t.key for t in index.crossed("AAA", D(1))} == {"below-90", "below-95", "below-100"}
    assert index.crossed("BBB", D(1)) == []


def test_take_crossed_removes_and_puts_a_stop_loss_before_its_target():
    index = TriggerIndex()
    index.add(trigger("target:t1", "100", Direction.ABOVE, Kind.TARGET, ref="trade:t1"))
    index.add(trigger("stop_loss:t1", "100", Direction.BELOW, Kind.STOP_LOSS, ref="trade:t1"))
    fired = index.take_crossed("AAA", D(100))
    assert [t.key for t in fired] == ["stop_loss:t1", "target:t1"]
    assert len(index) == 0


def test_replacing_and_removing_by_key_or_by_trade():
    index = TriggerIndex()
    index.add(trigger("stop_loss:t1", "90", Direction.BELOW, ref="trade:t1"))
    index.add(trigger("target:t1", "110", Direction.ABOVE, Kind.TARGET, ref="trade:t1"))
    index.add(trigger("stop_loss:t1", "80", Direction.BELOW, ref="trade:t1"))  # modified
    assert index.crossed("AAA", D(85)) == []
    assert len(index) == 2
    index.remove_ref("trade:t1")  # one leg fired: the other goes too
    assert len(index) == 0 and index.crossed("AAA", D(1)) == []
    assert index.remove("missing") is None


def test_many_resting_triggers_with_equal_levels_stay_distinct():
    index = TriggerIndex()
    for n in range(1000):
        index.add(trigger(f"k{n}", "100", Direction.BELOW))
    assert len(index.take_crossed("AAA", D(100))) == 1000
    assert len(index) == 0


def test_trailing_levels_and_improvement():
    from trading.trades import improves, trailing_level
    assert trailing_level(Side.BUY, D(110), D(5), None) == D(105)
    assert trailing_level(Side.SELL, D(80), None, D(10)) == D(88)
    assert trailing_level(Side.BUY, D("100"), None, D("2.5")) == D("97.5")
    assert improves(Side.BUY, D(101), D(100)) and not improves(Side.BUY, D(100), D(100))
    assert improves(Side.SELL, D(99), D(100)) and not improves(Side.SELL, D(101), D(100))
    assert exit_direction(Side.BUY, Kind.TRAILING_STOP) == Direction.BELOW
    assert exit_direction(Side.SELL, Kind.TRAILING_STOP) == Direction.ABOVE
