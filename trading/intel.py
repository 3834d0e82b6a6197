"""Market intelligence: screened tokens, fear-and-greed readings and what they suggest.

Pure values and rules (no I/O, no clock): feeds/intel.py converts each source's
payload into these at the edge, services/intel.py caches them and answers.

- ``Token``: one row of a market screener (price, market cap, 24 h volume and change,
  rank) and the funds that back it.
- ``Reading``: one value of a fear-and-greed index (0 to 100) at a moment.
- ``screen``: the screener's filter and order; ``recommend``: BUY below a level,
  SELL above another, HOLD between, with the reason in words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

# Upper bounds of the index's bands (alternative.me's and CNN's names).
BANDS = ((Decimal(25), "Extreme Fear"), (Decimal(45), "Fear"), (Decimal(56), "Neutral"),
         (Decimal(76), "Greed"), (Decimal(101), "Extreme Greed"))
INDICES = ("crypto", "stocks")  # alternative.me's crypto index, CNN's stock-market index
# Alerts on an index crossing a level name it by one of these symbols.
INDEX_SYMBOLS = {f"FNG:{index}": index for index in INDICES}
HIGHEST_LEVEL = Decimal(100)


class Sort(StrEnum):
    MARKET_CAP = "market_cap"
    CHANGE_24H = "change_24h"
    VOLUME = "volume"


class Action(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


@dataclass(frozen=True, slots=True)
class Backing:
    """A fund that backs a token, and where that is said."""

    fund: str
    source: str


@dataclass(frozen=True, slots=True)
class Token:
    """One screened token; amounts in US dollars."""

    id: str  # the source's id (CoinGecko's: "bitcoin")
    symbol: str  # lower case, as CoinGecko spells it ("btc")
    name: str
    price: Decimal
    market_cap: Decimal
    volume_24h: Decimal
    change_24h: Decimal | None  # percent
    rank: int | None


@dataclass(frozen=True, slots=True)
class Reading:
    """A fear-and-greed value (0 to 100) and its band at a moment."""

    value: Decimal
    classification: str
    at: datetime

    def __post_init__(self) -> None:
        if not (self.value.is_finite() and 0 <= self.value <= 100):
            raise ValueError(f"an index value is from 0 to 100, not {self.value}")
        if self.at.tzinfo is None:
            raise ValueError("reading times must be timezone-aware")


@dataclass(frozen=True, slots=True)
class IndexSeries:
    """An index's latest reading and its readings, newest first (the latest among them)."""

    latest: Reading
    history: tuple[Reading, ...] = field(default=())

    def since(self, start: datetime) -> list[Reading]:
        """The readings at or after start, newest first (the latest among them)."""
        return [reading for reading in self.history if reading.at >= start]


def index_symbol(text: str) -> str | None:
    """The index symbol text spells (FNG:crypto, fng:STOCKS...), or None."""
    wanted = text.strip().casefold()
    return next((symbol for symbol in INDEX_SYMBOLS if symbol.casefold() == wanted), None)


def classify(value: Decimal) -> str:
    """The band of an index value: Extreme Fear, Fear, Neutral, Greed, Extreme Greed."""
    return next(name for upper, name in BANDS if value < upper)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """BUY while an index is below buy_below, SELL while above sell_above."""

    buy_below: Decimal = Decimal(45)
    sell_above: Decimal = Decimal(55)

    def __post_init__(self) -> None:
        if not 0 <= self.buy_below <= self.sell_above <= 100:
            raise ValueError("thresholds must satisfy 0 <= buy_below <= sell_above <= 100")


def recommend(index: str, reading: Reading, thresholds: Thresholds) -> tuple[Action, str]:
    """The action an index suggests and the reason in words (contrarian: buy fear)."""
    value, name = _shown(reading.value), "crypto" if index == "crypto" else "stock-market"
    where = f"The {name} Fear & Greed Index is {value} ({reading.classification})"
    if reading.value < thresholds.buy_below:
        return Action.BUY, (f"{where}, below {_shown(thresholds.buy_below)}: fear often "
                            "prices assets below their worth.")
    if reading.value > thresholds.sell_above:
        return Action.SELL, (f"{where}, above {_shown(thresholds.sell_above)}: greed often "
                             "prices assets above their worth.")
    return Action.HOLD, (f"{where}, between {_shown(thresholds.buy_below)} and "
                         f"{_shown(thresholds.sell_above)}: neither fear nor greed leads.")


def _shown(value: Decimal) -> str:
    return format(value.normalize(), "f")


def screen(tokens: list[Token], *, min_market_cap: Decimal, sort: Sort,
           backed_by: str | None, funds: dict[str, list[Backing]],
           limit: int) -> list[Token]:
    """Tokens with at least min_market_cap, backed by the fund backed_by names (any case)
    if given, largest first by sort (missing 24 h changes last), at most limit."""
    wanted = backed_by.casefold() if backed_by is not None else None
    kept = [token for token in tokens if token.market_cap >= min_market_cap
            and (wanted is None or any(b.fund.casefold() == wanted
                                       for b in funds.get(token.id, ())))]
    if sort is Sort.MARKET_CAP:
        kept.sort(key=lambda token: token.market_cap, reverse=True)
    elif sort is Sort.VOLUME:
        kept.sort(key=lambda token: token.volume_24h, reverse=True)
    else:
        kept.sort(key=lambda token: (token.change_24h is not None,
                                     token.change_24h or Decimal(0)), reverse=True)
    return kept[:limit]
