"""News feeds: one RSS or Atom URL fetched over HTTP and read with feedparser.

The answer is read through aiohttp with a timeout, at most three redirects and a
size cap, and parsed off the event loop (feedparser is synchronous). Entries
become trading.news.Headline here, at the edge: plain text, safe links, tagged
symbols. Whatever goes wrong is a NewsError whose message is one short line
(retry_after set when the source asked to wait).
"""

from __future__ import annotations

import asyncio
import calendar
import io
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import feedparser

from trading.news import Headline, Tagger, headline

log = logging.getLogger(__name__)

MAX_ENTRIES = 200  # entries read from one answer
MAX_REDIRECTS = 3
MAX_RETRY_AFTER = 3600.0
USER_AGENT = "PaperDesk/0.1 (news reader; RSS and Atom)"
# A published time further ahead than this is taken as the time it was fetched.
FUTURE_SLACK = timedelta(hours=1)


class NewsError(Exception):
    """A feed could not be read; the message is one short line."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NewsFeed:
    """One named feed URL."""

    def __init__(self, name: str, url: str, *, timeout: float, max_bytes: int) -> None:
        self.name, self.url = name, url
        self.timeout, self.max_bytes = timeout, max_bytes
        self.session: aiohttp.ClientSession | None = None

    async def aclose(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def fetch(self, tagger: Tagger, now: datetime) -> list[Headline]:
        """The feed's headlines, newest first; NewsError when it cannot be read."""
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._download()
        except TimeoutError:
            raise NewsError(f"no answer within {self.timeout:g} s") from None
        except aiohttp.TooManyRedirects:
            raise NewsError(f"more than {MAX_REDIRECTS} redirects") from None
        except aiohttp.ClientError as exc:
            raise NewsError(f"cannot connect: {type(exc).__name__}") from None
        # Parsing, cleaning and tagging up to MAX_ENTRIES entries is CPU work: off the loop.
        return await asyncio.to_thread(self._read, body, tagger, now)

    def _read(self, body: bytes, tagger: Tagger, now: datetime) -> list[Headline]:
        found = [item for entry in parse(body)[:MAX_ENTRIES]
                 if (item := self._headline(entry, tagger, now)) is not None]
        found.sort(key=lambda item: item.published_at, reverse=True)
        return found

    async def _download(self) -> bytes:
        if self.session is None:
            self.session = aiohttp.ClientSession(
                headers={"User-Agent": USER_AGENT,
                         "Accept": "application/rss+xml, application/atom+xml, "
                                   "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1"})
        async with self.session.get(self.url, max_redirects=MAX_REDIRECTS) as response:
            if response.status == 429 or response.status == 503:
                raise NewsError(f"HTTP {response.status} (asked to wait)",
                                retry_after=retry_after(response.headers.get("Retry-After")))
            if response.status != 200:
                raise NewsError(f"HTTP {response.status}")
            declared = response.content_length
            if declared is not None and declared > self.max_bytes:
                raise NewsError(f"answer larger than {self.max_bytes} bytes")
            body = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                body += chunk
                if len(body) > self.max_bytes:
                    raise NewsError(f"answer larger than {self.max_bytes} bytes")
            return bytes(body)

    def _headline(self, entry: Any, tagger: Tagger, now: datetime) -> Headline | None:
        published = entry.get("published_parsed") or entry.get("updated_parsed")
        at = now
        if published is not None:
            try:
                at = datetime.fromtimestamp(calendar.timegm(published), UTC)
            except (OverflowError, ValueError, TypeError):
                at = now
        if at > now + FUTURE_SLACK:
            at = now
        return headline(title=_text(entry.get("title")), summary=_text(entry.get("summary")),
                        link=_text(entry.get("link")) or None, guid=_text(entry.get("id")),
                        source=self.name, published_at=at.replace(microsecond=0),
                        tagger=tagger)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def retry_after(raw: str | None) -> float | None:
    """Retry-After in seconds (a number of seconds; a date is taken as a minute)."""
    if raw is None:
        return None
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(raw)))
    except ValueError:
        return 60.0


def parse(body: bytes) -> list[Any]:
    """The entries of an RSS or Atom document; NewsError when it is not one.

    feedparser reads what it can of broken XML (it notes that as "bozo"): a
    document it got titled entries from is taken, one with none is refused.
    """
    try:
        # A stream, so feedparser never takes the body for a URL or a file name.
        result = feedparser.parse(io.BytesIO(body))
    except Exception as exc:  # feedparser's parsers raise what they like on hostile input
        raise NewsError(f"unreadable feed: {type(exc).__name__}") from None
    entries = [entry for entry in result.get("entries") or [] if entry.get("title")]
    if not entries:
        if result.get("bozo"):
            why = result.get("bozo_exception")
            raise NewsError(f"not a feed: {type(why).__name__ if why else 'malformed'}")
        if not result.get("version"):
            raise NewsError("not an RSS or Atom feed")
    return entries
