"""Socket.IO: authentication at connect, rooms, acks and revocation."""

import asyncio
from dataclasses import replace

import pytest
import socketio

from handlers import keys, sockets
from tests.support import PASSWORD, until


async def refused(api, **auth) -> dict:
    """Connect with the given auth and return the connect_error payload."""
    with pytest.raises(socketio.exceptions.ConnectionError):
        await api.socket(**auth)
    return api.sockets[-1].connect_error


async def test_socket_with_valid_token_connects_and_whoami_acks_the_user(api):
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    ack = await sock.call("whoami")
    assert ack == {"ok": True, "user": tokens["user"]}


async def test_socket_may_send_the_token_as_an_authorization_header(api):
    tokens = await api.account()
    sock = await api.socket(headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert (await sock.call("whoami"))["ok"] is True


@pytest.mark.parametrize(("auth", "code"), [
    ({"token": ""}, "authentication_required"),
    ({"token": 12345}, "authentication_required"),
    ({"token": "not.a.jwt"}, "invalid_token"),
])
async def test_socket_without_a_usable_token_is_refused_with_a_reason(api, auth, code):
    error = await refused(api, **auth)
    assert error["data"]["code"] == code
    assert error["message"] == error["data"]["message"]
    assert error["data"]["docs"] == "docs/API.md#socketio"


HOW_TO = ('Connect with an access token: io(url, {auth: {token: "<access token from POST '
          '/api/v1/auth/login>"}})')


async def refused_after_connecting(sock) -> dict:
    """Wait for the connect_error of a socket that connected without a token."""
    await asyncio.wait_for(sock.refused.wait(), 5)
    assert sock.sio.connected is False
    return sock.connect_error


async def test_a_socket_without_a_token_joins_with_one_and_gets_its_users_events(api):
    tokens = await api.account()
    sock = await api.socket()
    ack = await sock.call("join", {"token": tokens["access_token"]})
    assert ack == {"ok": True, "room": f"user:{tokens['user']['id']}"}
    assert await sock.call("whoami") == {"ok": True, "user": tokens["user"]}
    await api.call("PATCH", "/api/v1/me", {"name": "Ann B"}, token=tokens["access_token"])
    assert (await sock.next("profile_update"))["user"]["name"] == "Ann B"
    # Joined, it is a socket like any other: join again checks the token's user.
    bob = await api.account(email="bob@example.com", name="Bob")
    assert (await sock.call("join", {"token": bob["access_token"]}))["error"]["code"] == \
        "forbidden"


async def test_the_seed_style_join_with_a_user_id_is_told_how_to_authenticate(api):
    tokens = await api.account()
    sock = await api.socket()
    ack = await sock.call("join", {"user_id": tokens["user"]["id"]})
    assert (ack["ok"], ack["error"]["code"]) == (False, "authentication_required")
    assert HOW_TO in ack["error"]["message"] and "docs/API.md" in ack["error"]["message"]
    error = await refused_after_connecting(sock)
    assert error["message"] == ack["error"]["message"]
    assert error["data"] == {**ack["error"], "docs": "docs/API.md#socketio"}
    await until(lambda: not api.app[keys.SIO].eio.sockets)  # its connection is closed


async def test_a_socket_without_a_token_may_send_nothing_but_join(api):
    await api.account()
    sock = await api.socket()
    ack = await sock.call("subscribe", {"symbols": ["AAPL"]})
    assert ack["error"]["code"] == "authentication_required"
    assert HOW_TO in (await refused_after_connecting(sock))["message"]
    assert [event for event, _ in sock.received] == []


async def test_a_socket_that_does_not_join_in_time_is_refused(api, monkeypatch):
    monkeypatch.setattr(sockets, "JOIN_WITHIN", 0.2)
    sock = await api.socket()
    error = await refused_after_connecting(sock)
    assert (error["data"]["code"], error["data"]["docs"]) == (
        "authentication_required", "docs/API.md#socketio")
    assert HOW_TO in error["message"]
    await until(lambda: not api.app[keys.SIO].eio.sockets)  # its connection is closed


async def test_sockets_waiting_to_join_are_capped(api, monkeypatch):
    monkeypatch.setattr(sockets, "MAX_WAITING", 2)
    waiting = [await api.socket(), await api.socket()]
    error = await refused(api)  # a third brings no token either: refused at once
    assert (error["data"]["code"], error["data"]["docs"]) == (
        "authentication_required", "docs/API.md#socketio")
    tokens = await api.account()
    ack = await waiting[0].call("join", {"token": tokens["access_token"]})
    assert ack["ok"] is True  # one joined: a place is free again
    assert (await api.socket()) is not None


@pytest.mark.parametrize(("payload", "code"), [
    ({"token": "eyJhbGciOi.forged.token"}, "invalid_token"),
    ({"token": "t\u00f6k\u0435n"}, "invalid_token"),
    ({"token": ""}, "invalid_token"),
    ({"token": "x" * 5000}, "validation_error"),
    ({"token": 12345}, "validation_error"),
    ({"token": {"nested": {"deep": ["token"]}}}, "validation_error"),
    ({}, "authentication_required"),
    (None, "validation_error"),
    ("a token as a string", "validation_error"),
])
async def test_a_join_without_a_usable_token_refuses_the_socket(api, payload, code):
    sock = await api.socket()
    ack = await sock.call("join", payload)
    assert (ack["ok"], ack["error"]["code"]) == (False, code)
    error = await refused_after_connecting(sock)
    assert (error["data"]["code"], error["data"]["docs"]) == (code, "docs/API.md#socketio")


async def test_socket_with_expired_token_is_refused_token_expired(api, later, settings):
    later(seconds=-settings.access_token_ttl.total_seconds() - 5)
    tokens = await api.account()
    error = await refused(api, token=tokens["access_token"])
    assert error["data"]["code"] == "token_expired"


async def test_socket_with_a_logged_out_token_is_refused(api):
    tokens = await api.account()
    await api.call("POST", "/api/v1/auth/logout", token=tokens["access_token"])
    error = await refused(api, token=tokens["access_token"])
    assert error["data"]["code"] == "invalid_token"


async def test_socket_with_a_refresh_token_is_refused(api):
    tokens = await api.account()
    error = await refused(api, token=tokens["refresh_token"])
    assert error["data"]["code"] == "invalid_token"


async def test_logout_disconnects_the_sessions_open_sockets(api):
    tokens = await api.account()
    other = await api.login()
    sock = await api.socket(tokens["access_token"])
    other_sock = await api.socket(other["access_token"])
    await api.call("POST", "/api/v1/auth/logout", token=tokens["access_token"])
    assert await sock.next("session_revoked") == {"reason": "session ended"}
    await asyncio.wait_for(sock.disconnected.wait(), 5)
    assert (await other_sock.call("whoami"))["ok"] is True


async def test_join_with_a_valid_token_acks_the_tokens_room_and_ignores_user_id(api):
    tokens = await api.account()
    bob = await api.account(email="bob@example.com", name="Bob")
    sock = await api.socket(tokens["access_token"])
    ack = await sock.call("join", {"token": tokens["access_token"],
                                   "user_id": bob["user"]["id"]})
    assert ack == {"ok": True, "room": f"user:{tokens['user']['id']}"}


@pytest.mark.parametrize(("payload", "code"), [
    (None, "validation_error"),
    ("just a string", "validation_error"),
    ({"user_id": "someone"}, "validation_error"),
    ({"token": "forged"}, "invalid_token"),
])
async def test_join_without_a_valid_token_gets_an_error_ack(api, payload, code):
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    ack = await sock.call("join", payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code


async def test_join_with_another_users_token_is_forbidden(api):
    tokens = await api.account()
    bob = await api.account(email="bob@example.com", name="Bob")
    sock = await api.socket(tokens["access_token"])
    ack = await sock.call("join", {"token": bob["access_token"]})
    assert ack["error"]["code"] == "forbidden"


async def test_a_users_events_reach_only_that_users_sockets(api):
    ann = await api.account()
    bob = await api.account(email="bob@example.com", name="Bob")
    ann_phone, ann_laptop = (await api.socket(ann["access_token"]),
                             await api.socket(ann["access_token"]))
    bob_sock = await api.socket(bob["access_token"])

    await api.call("PATCH", "/api/v1/me", {"name": "Ann B"}, token=ann["access_token"])
    for sock in (ann_phone, ann_laptop):
        assert (await sock.next("profile_update"))["user"]["name"] == "Ann B"
    # Bob's own event comes after Ann's on the server; had Ann's been sent to
    # Bob, it would have arrived first.
    await api.call("PATCH", "/api/v1/me", {"name": "Bob B"}, token=bob["access_token"])
    assert (await bob_sock.next("profile_update"))["user"]["name"] == "Bob B"
    assert [event for event, _ in bob_sock.received] == ["profile_update"]


async def test_socket_message_over_the_size_limit_closes_the_connection(api):
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    await sock.sio.emit("whoami", {"padding": "x" * 70_000})
    await asyncio.wait_for(sock.disconnected.wait(), 5)
    assert sock.received == []


async def test_socket_message_just_under_the_limit_is_answered(api):
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    ack = await sock.call("whoami", {"padding": "x" * 60_000})
    assert ack["ok"] is True


async def test_too_many_arguments_get_an_error_ack(api):
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    ack = await sock.sio.call("whoami", ({}, {}), timeout=5)
    assert ack["error"]["code"] == "validation_error"


async def test_events_reach_a_socket_on_another_process_through_redis(servers, redis_settings):
    first = await servers.start(redis_settings)
    second = await servers.start(replace(redis_settings, port=0))
    tokens = await first.account()
    sock = await first.socket(tokens["access_token"])
    status, _ = await second.call("PATCH", "/api/v1/me", {"name": "Via Redis"},
                                  token=tokens["access_token"])
    assert status == 200
    assert (await sock.next("profile_update"))["user"]["name"] == "Via Redis"


async def test_user_password_never_travels_in_socket_acks(api):
    tokens = await api.account()
    sock = await api.socket(tokens["access_token"])
    ack = await sock.call("whoami")
    assert PASSWORD not in str(ack)
    assert "password" not in str(ack)


async def test_browser_sockets_from_other_origins_are_refused_by_default(api):
    tokens = await api.account()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await api.socket(tokens["access_token"], headers={"Origin": "http://evil.example"})
    same = await api.socket(tokens["access_token"], headers={"Origin": api.url.rstrip("/")})
    assert (await same.call("whoami"))["ok"] is True


async def test_configured_origins_may_connect(servers, settings):
    api = await servers.start(replace(settings, cors_origins=("https://app.example",)))
    tokens = await api.account()
    allowed = await api.socket(tokens["access_token"], headers={"Origin": "https://app.example"})
    assert (await allowed.call("whoami"))["ok"] is True
    with pytest.raises(socketio.exceptions.ConnectionError):
        await api.socket(tokens["access_token"], headers={"Origin": "https://other.example"})
