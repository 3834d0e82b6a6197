"""The leaderboard's arithmetic (trading/leaderboard.py): returns, order, scores, ratings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from trading.leaderboard import (
    INFINITY,
    Standing,
    ranked,
    ratings,
    return_pct,
    risk_score,
    shown_name,
    window_return,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
D = Decimal


def standing(user_id: str, ret: str | None, seconds: int = 0) -> Standing:
    return Standing(user_id, T0 + timedelta(seconds=seconds), None if ret is None else D(ret))


def test_window_return_is_a_fraction_and_none_without_a_positive_start():
    assert window_return(D(100000), D(100200)) == D("0.002")
    assert window_return(D(100000), D(99000)) == D("-0.01")
    assert window_return(D(0), D(5)) is None
    assert window_return(D(-10), D(5)) is None


def test_return_pct_rounds_half_up_to_the_cent():
    assert return_pct(D("0.0012345")) == "0.12"
    assert return_pct(D("0.000125")) == "0.01"
    assert return_pct(D("-0.0015")) == "-0.15"
    assert return_pct(D(0)) == "0.00"
    assert return_pct(None) is None


def test_best_return_first_negative_after_zero_and_none_last():
    order = ranked([standing("a", "-0.5"), standing("b", None), standing("c", "0.1"),
                    standing("d", "0")])
    assert [s.user_id for s in order] == ["c", "d", "a", "b"]


def test_ties_go_to_the_earlier_opt_in_then_the_lower_id_whatever_the_input_order():
    tied = [standing("z", "0.1", 5), standing("b", "0.1", 9), standing("a", "0.1", 9),
            standing("m", "0.2", 20)]
    assert [s.user_id for s in ranked(tied)] == ["m", "z", "a", "b"]
    assert [s.user_id for s in ranked(reversed(tied))] == ["m", "z", "a", "b"]


def test_a_single_user_and_no_users_rank_plainly():
    assert [s.user_id for s in ranked([standing("only", "-0.3")])] == ["only"]
    assert ranked([]) == []
    assert ratings({}) == {}


def test_risk_score_needs_the_minimum_days_and_at_least_two():
    assert risk_score([D("0.01")] * 6, min_days=7) is None
    assert risk_score([D("0.01")], min_days=1) is None  # one return has no spread
    # mean 0.008333, sample deviation 0.012583: 0.66227 * sqrt(365)
    assert risk_score([D("0.01"), D("-0.005"), D("0.02")], min_days=3) == D("12.6526")


def test_returns_that_never_vary_score_zero_or_beyond_any_ratio():
    assert risk_score([D(0)] * 7, min_days=7) == 0  # an idle account: no drawdown, no gain
    assert risk_score([D("0.001")] * 7, min_days=7) == INFINITY  # gains, never a fall
    assert risk_score([D("-0.001")] * 7, min_days=7) == -INFINITY
    varied = risk_score([D("0.5"), D("0.4"), D("0.6")], min_days=3)
    assert varied is not None and -INFINITY < varied < INFINITY


def test_negative_sharpe_ratios_order_below_zero():
    losing = risk_score([D("-0.01"), D("-0.02"), D("0.001")], min_days=3)
    assert losing is not None and losing < 0


def test_ratings_are_the_share_of_other_rated_users_below_with_ties_counting_half():
    rated = ratings({"a": D(3), "b": D(1), "c": D(2), "d": D(-1), "e": D(5)})
    assert rated == {"e": 100, "a": 75, "c": 50, "b": 25, "d": 0}


def test_tied_scores_share_a_rating():
    rated = ratings({"a": D(1), "b": D(1), "c": D(0)})
    assert rated == {"a": 75, "b": 75, "c": 0}
    assert ratings({"a": D(2), "b": D(2)}) == {"a": 50, "b": 50}


def test_a_user_rated_alone_is_in_the_middle_and_infinite_scores_still_order():
    assert ratings({"only": D("1.5")}) == {"only": 50}
    rated = ratings({"steady": INFINITY, "good": D(2), "falling": -INFINITY})
    assert rated == {"steady": 100, "good": 50, "falling": 0}


def test_ratings_round_half_up():
    rated = ratings({f"u{n}": D(n) for n in range(4)})  # 0, 33.3, 66.7, 100
    assert rated == {"u0": 0, "u1": 33, "u2": 67, "u3": 100}


def test_a_name_carrying_the_email_shows_as_a_handle_instead():
    assert shown_name("Ann Lee", "ann@example.com", "1a2b3c4d") == "Ann Lee"
    assert shown_name("Ann", "ann.lee@example.com", "1a2b3c4d") == "Ann"
    assert shown_name("ann lee", "ann.lee@example.com", "1a2b3c4d") == "ann lee"
    for name in ("ann", "ANN", "ann@example.com", "ANN@Example.com", "me: ann@example",
                 "x ann@ y"):
        assert shown_name(name, "ann@example.com", "1a2b3c4d") == "Trader 1a2b3c4d", name
