"""Read-only reports over a user's account: wallet and positions (performance:
services/performance.py)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from services.engine import TradingEngine
from services.views import positions_view
from trading.assets import AssetClass
from trading.errors import InvalidInput, NotFound
from trading.fx import USD_COINS, settles_as
from trading.market import Instrument
from trading.money import from_units, show
from trading.orders import OrderStatus
from trading.trades import TradeStatus


async def positions(engine: TradingEngine, user_id: str) -> list[dict[str, Any]]:
    open_trades = await engine.store.trades.find(user_id, status=TradeStatus.OPEN, limit=10_000)
    return positions_view(open_trades, engine.prices())


async def wallet(engine: TradingEngine, user_id: str) -> dict[str, Any]:
    """Per-asset balances, derived from the account, its open lots and resting orders
    (nothing is stored for them; see docs/API.md, *Wallet*): the cash in the account
    currency, each crypto base asset held (BTC of BTCUSDT), and each other symbol's net
    position."""
    account = await engine.account(user_id)
    lots = await engine.store.trades.find(user_id, status=TradeStatus.OPEN, limit=10_000)
    orders = await engine.store.orders.find(user_id, status=OrderStatus.OPEN, limit=10_000)
    instruments = engine.hub.universe.instruments
    free, locked = from_units(account["available"]), from_units(account["reserved"])
    currency = account["currency"]
    aliases = [coin for coin in USD_COINS if settles_as(coin) == settles_as(currency)
               and coin != currency]
    balances = [{"asset": currency, "type": "cash", "free": show(free), "locked": show(locked),
                 "total": show(free + locked), "aliases": aliases,
                 "margin_used": show(from_units(account["margin_used"]))}]
    held: dict[str, Decimal] = defaultdict(Decimal)  # signed: negative when short
    closing: dict[str, Decimal] = defaultdict(Decimal)  # resting orders of either side
    for lot in lots:
        held[_wallet_asset(instruments, lot["symbol"])] += (
            from_units(lot["quantity"]) * (1 if lot["side"] == "buy" else -1))
    for order in orders:
        closing[_wallet_asset(instruments, order["symbol"])] += (
            from_units(order["quantity"]) * (1 if order["side"] == "buy" else -1))
    for asset in sorted(held, key=lambda a: (a not in _bases(instruments), a)):
        total = held[asset]
        # What resting orders of the other side would take out of it, at most all of it.
        against = -closing[asset] if total > 0 else closing[asset]
        taken = min(max(against, Decimal(0)), abs(total))
        sign = 1 if total > 0 else -1
        balances.append({"asset": asset,
                         "type": "crypto" if asset in _bases(instruments) else "position",
                         "free": show(total - sign * taken), "locked": show(sign * taken),
                         "total": show(total)})
    return {"balances": balances}


def _wallet_asset(instruments: Mapping[str, Instrument], symbol: str) -> str:
    """The asset a symbol's position is a balance of: a crypto pair's base, else itself."""
    rules = instruments[symbol].rules if symbol in instruments else None
    if rules is not None and rules.asset_class == AssetClass.CRYPTO and rules.base_asset:
        return rules.base_asset
    return symbol


def _bases(instruments: Mapping[str, Instrument]) -> set[str]:
    return {i.rules.base_asset for i in instruments.values()
            if i.rules.asset_class == AssetClass.CRYPTO and i.rules.base_asset}


WALLET_ASSET = re.compile(r"^[A-Z0-9^][A-Z0-9.=\-]{0,31}$")


async def wallet_balance(engine: TradingEngine, user_id: str, asset: str) -> dict[str, Any]:
    """One asset's balance (zero for a known asset not held); a dollar stablecoin is the
    cash when the account is in dollars. NotFound for an asset this server does not know."""
    wanted = asset.upper() if asset.isascii() else asset
    if not WALLET_ASSET.match(wanted):
        raise InvalidInput("'asset' must be an asset name: up to 32 letters, digits, "
                           "'.', '-', '=' or a leading '^'.", field="asset")
    universe = engine.hub.universe
    if universe.knows(wanted):
        symbol = universe.resolve(wanted)  # any spelling of it (brk.b: BRK-B)
        if (base := _wallet_asset(universe.instruments, symbol)) != symbol:
            raise NotFound(f"{symbol} is a pair, not an asset: the wallet holds its base "
                           f"asset, {base}.", details={"asset": wanted})
        wanted = symbol
    balances = (await wallet(engine, user_id))["balances"]
    cash = balances[0]
    if wanted == cash["asset"] or wanted in cash["aliases"]:
        return {**cash, "asset": wanted}
    for row in balances[1:]:
        if row["asset"] == wanted:
            return dict(row)
    if wanted in _bases(universe.instruments):
        return {"asset": wanted, "type": "crypto", "free": "0", "locked": "0", "total": "0"}
    if wanted in universe:
        return {"asset": wanted, "type": "position", "free": "0", "locked": "0", "total": "0"}
    raise NotFound(f"No asset {wanted[:40]!r} in this wallet.", details={"asset": wanted[:40]})

