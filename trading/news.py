"""Headlines: plain text from feed markup, safe links, the key that deduplicates them,
and the configured symbols each one mentions (no I/O).

A feed's title and summary may hold any HTML (or text that only looks like it):
what is kept is the text a reader would see, without scripts or styles, with
entities decoded and whitespace collapsed, cut to a length. Links are kept only
when they are absolute http(s) URLs. Pages show all of it as text, never as HTML.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MAX_TITLE = 300  # characters
MAX_SUMMARY = 1000
MAX_LINK = 2048
# Markup read at most: a summary longer than this is cut before it is parsed.
MAX_MARKUP = 100_000
_DROPPED = frozenset({"script", "style", "noscript", "template", "iframe", "object", "svg",
                      "math", "head", "title"})
_BLOCKS = frozenset({"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6",
                     "blockquote", "section", "article", "ul", "ol", "table"})
_SPACE = re.compile(r"\s+")
# Control and format characters (bidi overrides, zero-width joiners) are dropped.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|mc_cid$|mc_eid$|ref$|cmpid$)")


class _TextOnly(HTMLParser):
    """Collects the text of markup, skipping the content of _DROPPED elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0  # depth inside dropped elements

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROPPED:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROPPED:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def plain_text(markup: str, limit: int) -> str:
    """The visible text of markup: tags stripped, scripts and styles dropped, entities
    decoded, invisible characters removed, whitespace collapsed, at most limit
    characters (cut at a word where one is near, with an ellipsis)."""
    if len(markup) > MAX_MARKUP:
        markup = markup[:MAX_MARKUP]
        if markup.rfind("<") > markup.rfind(">"):  # no tag cut in half
            markup = markup[:markup.rfind("<")]
    parser = _TextOnly()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    # Text that was itself escaped markup ("&lt;b&gt;") decodes to tags: strip once more.
    if "<" in text and ">" in text:
        again = _TextOnly()
        again.feed(text)
        again.close()
        text = "".join(again.parts)
    text = "".join(ch for ch in unicodedata.normalize("NFC", text)
                   if ch in "\t\n\r" or unicodedata.category(ch) not in _INVISIBLE)
    text = _SPACE.sub(" ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip() + "…"


def safe_link(raw: str | None) -> str | None:
    """The URL if it is an absolute http(s) one with a host and no spaces or control
    characters (javascript:, data: and relative links are not), else None."""
    if not raw:
        return None
    link = raw.strip()
    if len(link) > MAX_LINK or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127
                                   for ch in link):
        return None
    try:
        parts = urlsplit(link)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return link


def link_key(link: str) -> str:
    """A link as the same story's other links would be: scheme and host lower-case,
    no fragment, no tracking parameters, no trailing slash."""
    parts = urlsplit(link)
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                             if not _TRACKING.match(k.lower())))
    host = (parts.hostname or "").removeprefix("www.")
    return urlunsplit(("https", host, parts.path.rstrip("/") or "/", query, ""))


def title_key(title: str) -> str:
    """A title as the same story elsewhere would have it: letters and digits only,
    lower-case (so quotes, dashes and spacing do not tell two copies apart)."""
    folded = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.findall(r"\w+", folded))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Headline:
    """One story as stored: id is the digest of its link (or guid, or title)."""

    id: str
    title_key: str
    title: str
    summary: str
    link: str | None
    source: str
    published_at: datetime
    symbols: tuple[str, ...]


def headline(*, title: str, summary: str, link: str | None, guid: str | None, source: str,
             published_at: datetime, tagger: Tagger) -> Headline | None:
    """A headline from a feed entry's raw fields, or None when it has no title."""
    text = plain_text(title, MAX_TITLE)
    if not text:
        return None
    about = plain_text(summary, MAX_SUMMARY)
    url = safe_link(link)
    guid = (guid or "").strip()[:MAX_LINK]
    if url is not None:
        key = "link:" + link_key(url)
    elif guid:
        key = "guid:" + (link_key(guid) if safe_link(guid) else guid)
    else:
        key = "title:" + title_key(text)
    return Headline(id=digest(key), title_key=digest(title_key(text)), title=text,
                    summary=about, link=url, source=source, published_at=published_at,
                    symbols=tagger.symbols(text, about))


# -- which symbols a headline mentions -------------------------------------------

# Names of assets, by ticker or base asset. Lower-case names match in any case
# ("Bitcoin", "BITCOIN"); capitalised ones only as written or in capitals, so
# "apple pie" is not Apple.
NAMES: dict[str, tuple[str, ...]] = {
    "BTC": ("bitcoin", "bitcoins"),
    "ETH": ("ethereum", "Ether"),
    "SOL": ("solana",),
    "BNB": ("binance coin",),
    "XRP": ("ripple",),
    "ADA": ("cardano",),
    "DOGE": ("dogecoin",),
    "AAPL": ("Apple",),
    "MSFT": ("Microsoft",),
    "GOOGL": ("Alphabet", "Google"),
    "AMZN": ("Amazon",),
    "TSLA": ("Tesla",),
    "NVDA": ("Nvidia", "NVIDIA"),
    "META": ("Meta Platforms",),
    "RELIANCE": ("Reliance Industries", "Reliance Jio"),
    "TCS": ("Tata Consultancy",),
    "NSEI": ("Nifty 50", "Nifty"),
    "BSESN": ("Sensex",),
    "GSPC": ("S&P 500",),
}
# Tickers that are also common words in capitals ("IT", "ALL") are matched only with a
# cashtag ($IT) or as part of a full pair name.
_WORDY = frozenset({"A", "I", "IT", "ALL", "ON", "ONE", "AI", "AN", "ARE", "BE", "CAN",
                    "FOR", "GO", "NOW", "OR", "SO", "TV", "US", "YOU", "NEW", "OUT"})


def _ticker_of(symbol: str, base_asset: str | None) -> str:
    """What a symbol is called in text: a pair's base asset, a stock without its
    exchange suffix, an index without its caret."""
    if base_asset:
        return base_asset
    return symbol.removeprefix("^").split(".")[0]


def _pattern(words: Iterable[str], flags: int = 0) -> re.Pattern[str] | None:
    alternatives = sorted({re.escape(w) for w in words if w}, key=len, reverse=True)
    if not alternatives:
        return None
    return re.compile(r"(?<![\w$&])(?:" + "|".join(alternatives) + r")(?![\w&])", flags)


class Tagger:
    """Finds the configured symbols a text mentions: by symbol (BTCUSDT, BTC/USDT), by
    ticker or base asset in capitals (BTC, $BTC, AAPL), or by name (bitcoin, Apple),
    always as whole words (SOL is not in "solution", nor in "Sol")."""

    def __init__(self, symbols: Iterable[tuple[str, str | None]]) -> None:
        """symbols: each configured symbol with its base asset (None for non-pairs)."""
        self.symbols_by_word: dict[str, str] = {}
        self.by_name: dict[str, str] = {}
        self.by_exact_name: dict[str, str] = {}
        for symbol, base in symbols:
            ticker = _ticker_of(symbol, base)
            self.symbols_by_word[symbol] = symbol
            if base:
                quote = symbol[len(base):]
                for sep in ("/", "-", "_"):
                    self.symbols_by_word[f"{base}{sep}{quote}"] = symbol
            if ticker not in _WORDY:
                self.symbols_by_word.setdefault(ticker, symbol)
            self.symbols_by_word.setdefault("$" + ticker, symbol)
            for name in NAMES.get(ticker, ()):
                if name.islower():
                    self.by_name.setdefault(name, symbol)
                else:
                    self.by_exact_name.setdefault(name, symbol)
                    self.by_exact_name.setdefault(name.upper(), symbol)
        cashtags = [w[1:] for w in self.symbols_by_word if w.startswith("$")]
        plain = [w for w in self.symbols_by_word if not w.startswith("$")]
        self._words = _pattern(plain)
        self._cashtags = (re.compile(r"\$(" + "|".join(map(re.escape, cashtags)) + r")(?![\w&])")
                          if cashtags else None)
        self._names = _pattern(self.by_name, re.IGNORECASE)
        self._exact = _pattern(self.by_exact_name)

    def symbols(self, *texts: str) -> tuple[str, ...]:
        """The configured symbols the texts mention, sorted."""
        found: set[str] = set()
        for text in texts:
            if self._words is not None:
                found.update(self.symbols_by_word[m] for m in self._words.findall(text))
            if self._cashtags is not None:
                found.update(self.symbols_by_word["$" + m] for m in self._cashtags.findall(text))
            if self._names is not None:
                found.update(self.by_name[m.lower()] for m in self._names.findall(text))
            if self._exact is not None:
                found.update(self.by_exact_name[m] for m in self._exact.findall(text))
        return tuple(sorted(found))
