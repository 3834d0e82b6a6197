"""A local server speaking RSS 2.0 and Atom 1.0 over HTTP, as news sites do.

Its payloads have the shape of the real feeds the server is configured with by
default: CoinDesk's and Cointelegraph's RSS (CDATA descriptions holding HTML,
dc:creator, media:content, guid) and an Atom feed (Yahoo-style entries with
html summaries). Each path has a mode the test sets: ok, busy (429 with
Retry-After), fail (500), junk (malformed XML), html (a web page, not a feed),
huge (a 50 MB body, streamed), slow (no answer until the test ends) and
redirects (a redirect loop).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.sax.saxutils import escape

from aiohttp import web
from aiohttp.test_utils import TestServer

HUGE_BYTES = 50 * 1024 * 1024


@dataclass
class Story:
    title: str
    link: str
    published: datetime
    summary: str = ""
    guid: str | None = None


@dataclass
class Channel:
    kind: str  # rss | atom
    stories: list[Story] = field(default_factory=list)
    mode: str = "ok"
    requests: int = 0


def rss(stories: list[Story]) -> bytes:
    items = "".join(
        f"""<item><title><![CDATA[{s.title}]]></title><link>{escape(s.link)}</link>
<guid isPermaLink="false">{escape(s.guid or s.link)}</guid>
<pubDate>{format_datetime(s.published.astimezone(UTC), usegmt=True)}</pubDate>
<dc:creator><![CDATA[Reporter]]></dc:creator>
<description><![CDATA[{s.summary}]]></description>
<media:content url="https://example.com/image.jpg" medium="image"/></item>"""
        for s in stories)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Stand-in news</title>
<link>https://example.com/</link><description>Latest news</description>
<lastBuildDate>{format_datetime(datetime.now(UTC), usegmt=True)}</lastBuildDate>
{items}</channel></rss>""".encode()


def atom(stories: list[Story]) -> bytes:
    entries = "".join(
        f"""<entry><title type="html">{escape(s.title)}</title>
<link rel="alternate" href="{escape(s.link)}"/><id>{escape(s.guid or s.link)}</id>
<updated>{s.published.astimezone(UTC).isoformat()}</updated>
<published>{s.published.astimezone(UTC).isoformat()}</published>
<summary type="html">{escape(s.summary)}</summary><author><name>Desk</name></author></entry>"""
        for s in stories)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Stand-in markets</title>
<id>urn:stand-in</id><updated>{datetime.now(UTC).isoformat()}</updated>
{entries}</feed>""".encode()


class NewsSite:
    """Serves /<name> for each channel added; the test changes stories and modes."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.released = asyncio.Event()
        self.app = web.Application()
        self.app.router.add_get("/{name}", self.serve)
        self.server = TestServer(self.app)

    async def __aenter__(self) -> NewsSite:
        await self.server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.released.set()
        await self.server.close()

    def add(self, name: str, kind: str, *stories: Story) -> Channel:
        channel = self.channels[name] = Channel(kind, list(stories))
        return channel

    def url(self, name: str) -> str:
        return str(self.server.make_url(f"/{name}"))

    async def serve(self, request: web.Request) -> web.StreamResponse:
        channel = self.channels.get(request.match_info["name"])
        if channel is None:
            raise web.HTTPNotFound()
        channel.requests += 1
        mode = channel.mode
        if mode == "busy":
            return web.Response(status=429, text="Too Many Requests",
                                headers={"Retry-After": "2"})
        if mode == "fail":
            return web.Response(status=500, text="<html><body>Internal error</body></html>",
                                content_type="text/html")
        if mode == "junk":
            return web.Response(body=b"<?xml version='1.0'?><rss><channel><item><title>"
                                     b"broken &bogus; <<<</titl></chan",
                                content_type="application/rss+xml")
        if mode == "html":
            return web.Response(text="<!doctype html><html><body><h1>Just a moment...</h1>"
                                     "</body></html>", content_type="text/html")
        if mode == "slow":
            await self.released.wait()
        if mode == "redirects":
            raise web.HTTPFound(request.path)
        if mode == "huge":
            return await self._huge(request)
        body = rss(channel.stories) if channel.kind == "rss" else atom(channel.stories)
        content_type = "application/rss+xml" if channel.kind == "rss" else "application/atom+xml"
        return web.Response(body=body, content_type=content_type)

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        """A feed that never ends in time: 50 MB of items, no Content-Length."""
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        item = b"<item><title>filler</title><link>https://example.com/x</link></item>" * 900
        await response.write(b"<?xml version='1.0'?><rss version='2.0'><channel>")
        sent = 0
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while sent < HUGE_BYTES:
                await response.write(item)
                sent += len(item)
        return response
