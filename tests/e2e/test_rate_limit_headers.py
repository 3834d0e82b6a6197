"""Requests counted against a limit carry X-RateLimit-* (docs/API.md), those that then
fail too."""

from __future__ import annotations

from tests.e2e.test_rate_limits import limited


async def test_a_counted_request_that_fails_after_the_limit_still_tells_what_is_left(
        servers, settings):
    api = await servers.start(limited(settings, user_per_minute=3))
    tokens = await api.account()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    first = await api.client.get("/api/v1/me", headers=auth)
    assert first.headers["X-RateLimit-Remaining"] == "2"
    # Counted (the next says 0 left), yet its 404 does not say so.
    missing = await api.client.get("/api/v1/orders/nope", headers=auth)
    assert missing.status == 404
    last = await api.client.get("/api/v1/me", headers=auth)
    assert last.headers["X-RateLimit-Remaining"] == "0"
    assert missing.headers.get("X-RateLimit-Remaining") == "1", dict(missing.headers)
