"""Abuse limits: per address on auth routes, per account and address on failed logins,
per user on everything else, per connection on socket messages."""

from dataclasses import replace

from tests.support import PASSWORD


def limited(settings, **changes):  # type: ignore[no-untyped-def]
    return replace(settings, limits=replace(settings.limits, trust_forwarded_for=True,
                                            **changes))


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.9, {address}"}  # the proxy appends the last


async def login(api, password: str, address: str) -> tuple[int, dict, dict]:  # type: ignore[no-untyped-def]
    response = await api.client.post("/api/v1/auth/login",
                                     json={"email": "ann@example.com", "password": password},
                                     headers=from_address(address))
    return response.status, await response.json(), dict(response.headers)


async def test_failed_logins_back_off_per_account_and_address_not_for_the_owner(servers,
                                                                              settings):
    api = await servers.start(limited(settings, login_failures=3))
    await api.register()
    for _ in range(3):
        assert (await login(api, "wrong password", "198.51.100.7"))[0] == 401
    status, body, headers = await login(api, PASSWORD, "198.51.100.7")
    assert status == 429
    assert body["error"]["code"] == "rate_limited"
    assert 1 <= int(headers["Retry-After"]) <= 15 * 60
    assert headers["X-RateLimit-Limit"] == "3" and headers["X-RateLimit-Remaining"] == "0"
    # The owner, elsewhere, is not locked out by the stranger's guesses.
    assert (await login(api, PASSWORD, "192.0.2.44"))[0] == 200


async def test_auth_routes_are_limited_per_client_address(servers, settings):
    api = await servers.start(limited(settings, auth_per_ip_per_minute=3))
    await api.register()
    statuses = [(await login(api, PASSWORD, "198.51.100.7"))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert (await login(api, PASSWORD, "192.0.2.44"))[0] == 200


async def test_requests_are_limited_per_user_with_headers_saying_what_is_left(servers,
                                                                            settings):
    api = await servers.start(limited(settings, user_per_minute=3))
    tokens = await api.account()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}
    remaining = []
    for _ in range(3):
        response = await api.client.get("/api/v1/me", headers=auth)
        assert response.status == 200
        remaining.append(response.headers["X-RateLimit-Remaining"])
        assert response.headers["X-RateLimit-Limit"] == "3"
    assert remaining == ["2", "1", "0"]
    refused = await api.client.get("/api/v1/me", headers=auth)
    assert refused.status == 429
    assert int(refused.headers["Retry-After"]) >= 1
    other = await api.account(email="bob@example.com", name="Bob")
    assert (await api.call("GET", "/api/v1/me", token=other["access_token"]))[0] == 200


async def test_socket_messages_are_limited_per_connection(servers, settings):
    api = await servers.start(limited(settings, socket_per_second=2))
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    acks = [await sock.call("whoami") for _ in range(3)]
    assert [a["ok"] for a in acks] == [True, True, False]
    assert acks[2]["error"]["code"] == "rate_limited"
    other = await api.socket(tokens["access_token"])
    assert (await other.call("whoami"))["ok"] is True


async def test_a_zero_setting_turns_a_limit_off(servers, settings):
    api = await servers.start(limited(settings, login_failures=0))
    await api.register()
    for _ in range(8):
        assert (await login(api, "wrong password", "198.51.100.7"))[0] == 401
    assert (await login(api, PASSWORD, "198.51.100.7"))[0] == 200


async def test_a_route_under_two_limits_reports_the_one_that_refuses_first(servers, settings):
    api = await servers.start(limited(settings, user_per_minute=3, notices_per_minute=5))
    token = (await api.account())["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    seen = []
    for _ in range(4):
        async with api.client.post("/api/v1/notifications", headers=auth,
                                   json={"event": "e", "message": "m"}) as response:
            seen.append((response.status, response.headers["X-RateLimit-Limit"],
                         response.headers["X-RateLimit-Remaining"]))
    # Three a minute per user is tighter here than the route's five notices.
    assert seen == [(202, "3", "2"), (202, "3", "1"), (202, "3", "0"), (429, "3", "0")]
