"""The fund-backing file: which investment funds back which token, and where it is said.

A JSON file shipped as config/funds.json (FUNDS_FILE names another), checked once at
start-up; anything wrong in it stops the server with one line naming the place::

    {"tokens": {"solana": {"symbol": "SOL",
                           "funds": [{"fund": "Multicoin Capital",
                                      "source": "https://multicoin.capital/portfolio/"}]}}}

Keys are CoinGecko coin ids (``/coins/markets``'s ``id``); ``symbol`` is informative.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from config.errors import ConfigError
from trading.intel import Backing

MAX_FILE_BYTES = 2 << 20
MAX_TOKENS = 10_000
MAX_FUNDS = 100  # per token
_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,99}", re.ASCII)
_URL = re.compile(r"https?://[^\s]{3,500}", re.ASCII)


def load_funds(path: Path) -> dict[str, list[Backing]]:
    """The backing of each token id in the file at path; ConfigError if it is not one."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"FUNDS_FILE {path} is larger than {MAX_FILE_BYTES} bytes.")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"FUNDS_FILE {path} cannot be read: {exc.strerror}.") from None
    except (ValueError, RecursionError) as exc:
        raise ConfigError(f"FUNDS_FILE {path} is not JSON: {str(exc)[:200]}.") from None
    return parse_funds(data, str(path))


def parse_funds(data: Any, where: str = "funds") -> dict[str, list[Backing]]:
    """Check a parsed fund file (see the module's docstring)."""
    tokens = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(tokens, dict):
        raise ConfigError(f"FUNDS_FILE {where}: the file must be an object with a 'tokens' "
                          "object.")
    if len(tokens) > MAX_TOKENS:
        raise ConfigError(f"FUNDS_FILE {where}: at most {MAX_TOKENS} tokens.")
    backing: dict[str, list[Backing]] = {}
    for token, entry in tokens.items():
        place = f"FUNDS_FILE {where}: tokens.{token[:100]}"
        if not _ID.fullmatch(token):
            raise ConfigError(f"{place}: a token is named by its CoinGecko id (lower-case "
                              "letters, digits, '.', '_' and '-').")
        funds = entry.get("funds") if isinstance(entry, dict) else None
        if not isinstance(funds, list) or not 1 <= len(funds) <= MAX_FUNDS:
            raise ConfigError(f"{place}: 'funds' must be a list of 1 to {MAX_FUNDS} entries.")
        if not isinstance(entry.get("symbol", ""), str):
            raise ConfigError(f"{place}: 'symbol' must be a string.")
        backing[token] = [_backing(fund, f"{place}.funds[{n}]") for n, fund in enumerate(funds)]
    return backing


def _backing(fund: Any, place: str) -> Backing:
    if not isinstance(fund, dict):
        raise ConfigError(f"{place}: each fund is an object with 'fund' and 'source'.")
    name, source = fund.get("fund"), fund.get("source")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 100:
        raise ConfigError(f"{place}: 'fund' must be a name of 1 to 100 characters.")
    if not isinstance(source, str) or not _URL.fullmatch(source):
        raise ConfigError(f"{place}: 'source' must be an http(s) link to where the backing "
                          "is stated.")
    return Backing(name.strip(), source)
