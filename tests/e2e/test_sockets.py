"""Socket.IO: authentication at connect, rooms, acks and revocation."""

import asyncio
from dataclasses import replace

import pytest
import socketio

from tests.support import PASSWORD


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
    ({}, "authentication_required"),
    ({"token": ""}, "authentication_required"),
    ({"token": 12345}, "authentication_required"),
    ({"token": "not.a.jwt"}, "invalid_token"),
])
async def test_socket_without_a_usable_token_is_refused_with_a_reason(api, auth, code):
    error = await refused(api, **auth)
    assert error["data"]["code"] == code
    assert error["message"]


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
