"""API keys for bots: created, listed and revoked by a login; used on REST, Socket.IO
and /ws as a bearer token or a header pair; scoped; limited per key."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

import aiohttp
import pytest
import socketio

from handlers import keys
from tests.e2e.test_plain_ws import PlainSocket
from tests.e2e.trading_support import order, priced_trader
from tests.support import PASSWORD, Api

KEYS = "/api/v1/me/api-keys"
LISTED = {"id", "name", "scope", "key_id", "created_at", "last_used_at"}


async def create(api: Api, token: str, name: str = "my bot", **body: Any) -> dict[str, Any]:
    status, created = await api.call("POST", KEYS, {"name": name, **body}, token=token)
    assert status == 201, created
    return dict(created)


def pair(key: dict[str, Any]) -> dict[str, str]:
    return {"APCA-API-KEY-ID": key["key_id"], "APCA-API-SECRET-KEY": key["secret"]}


def code(answer: Any) -> str:
    return str(answer["error"]["code"])


async def test_a_key_is_shown_once_listed_without_its_secret_and_revoked(api):
    login = (await api.account())["access_token"]
    first = await create(api, login, "  first   bot ", scope="read")
    second = await create(api, login, "second")
    assert set(first) == LISTED | {"secret", "token"}
    assert (first["name"], first["scope"], second["scope"]) == ("first bot", "read", "trading")
    assert re.fullmatch("PK[A-Z0-9]{18}", first["key_id"])
    assert re.fullmatch("[A-Za-z0-9_-]{40}", first["secret"])
    assert first["token"] == f"{first['key_id']}.{first['secret']}"
    assert first["last_used_at"] is None
    status, listed = await api.call("GET", KEYS, token=login)
    assert status == 200
    assert [key["id"] for key in listed["api_keys"]] == [second["id"], first["id"]]
    assert all(set(key) == LISTED for key in listed["api_keys"])
    assert first["secret"] not in str(listed)
    assert (await api.call("DELETE", f"{KEYS}/{first['id']}", token=login))[0] == 204
    status, listed = await api.call("GET", KEYS, token=login)
    assert [key["id"] for key in listed["api_keys"]] == [second["id"]]
    status, gone = await api.call("DELETE", f"{KEYS}/{first['id']}", token=login)
    assert (status, code(gone)) == (404, "not_found")


async def test_only_a_hash_of_the_secret_is_stored(api):
    login = (await api.account())["access_token"]
    key = await create(api, login)
    stored = await api.app[keys.STORE].db["api_keys"].find_one({"_id": key["id"]})
    assert stored is not None and stored["key_id"] == key["key_id"]
    assert key["secret"] not in str(stored) and key["token"] not in str(stored)
    assert re.fullmatch("[0-9a-f]{64}", stored["secret_hash"])


async def test_another_users_key_cannot_be_revoked(api):
    ann = (await api.account())["access_token"]
    bob = (await api.account(email="bob@example.com", name="Bob"))["access_token"]
    key = await create(api, ann)
    status, answer = await api.call("DELETE", f"{KEYS}/{key['id']}", token=bob)
    assert (status, code(answer)) == (404, "not_found")
    assert (await api.call("GET", "/api/v1/account", token=key["token"]))[0] == 200


async def test_a_key_works_as_a_bearer_token_or_a_header_pair_and_notes_its_use(api):
    login = (await api.account())["access_token"]
    key = await create(api, login)
    status, me = await api.call("GET", "/api/v1/me", token=key["token"])
    assert (status, me["user"]["email"]) == (200, "ann@example.com")
    status, account = await api.call("GET", "/api/v1/account", headers=pair(key))
    assert status == 200 and "account" in account
    _, listed = await api.call("GET", KEYS, token=login)
    assert listed["api_keys"][0]["last_used_at"] is not None


async def test_last_use_is_written_at_most_once_a_minute(api):
    login = (await api.account())["access_token"]
    key = await create(api, login)
    collection = api.app[keys.STORE].db["api_keys"]
    assert (await api.call("GET", "/api/v1/me", token=key["token"]))[0] == 200
    noted = (await collection.find_one({"_id": key["id"]}))["last_used_at"]
    await collection.update_one({"_id": key["id"]}, {"$set": {"last_used_at": None}})
    assert (await api.call("GET", "/api/v1/me", token=key["token"]))[0] == 200
    assert noted is not None
    assert (await collection.find_one({"_id": key["id"]}))["last_used_at"] is None


@pytest.mark.parametrize("how", ["bearer", "pair"])
async def test_a_wrong_or_revoked_key_is_401_invalid_api_key(api, how):
    login = (await api.account())["access_token"]
    key = await create(api, login)
    wrong = {**key, "secret": key["secret"][:-1] + ("A" if key["secret"][-1] != "A" else "B")}
    wrong["token"] = f"{wrong['key_id']}.{wrong['secret']}"

    async def status_of(used: dict[str, Any]) -> tuple[int, str]:
        if how == "bearer":
            status, answer = await api.call("GET", "/api/v1/account", token=used["token"])
        else:
            status, answer = await api.call("GET", "/api/v1/account", headers=pair(used))
        return status, code(answer) if status != 200 else ""

    assert await status_of(key) == (200, "")
    assert await status_of(wrong) == (401, "invalid_api_key")
    assert (await api.call("DELETE", f"{KEYS}/{key['id']}", token=login))[0] == 204
    assert await status_of(key) == (401, "invalid_api_key")


async def test_a_read_key_reads_but_changes_nothing(api):
    login = await priced_trader(api)
    key = await create(api, login, scope="read")
    assert (await api.call("GET", "/api/v1/account", token=key["token"]))[0] == 200
    status, refused = await order(api, key["token"])
    assert (status, code(refused)) == (403, "insufficient_scope")
    status, refused = await api.call("PATCH", "/api/v1/me", {"name": "Eve"},
                                     headers=pair(key))
    assert (status, code(refused)) == (403, "forbidden_for_api_key")  # a login's alone
    _, orders = await api.call("GET", "/api/v1/orders", token=login)
    assert orders["orders"] == []


async def test_a_trading_key_places_an_order(api):
    login = await priced_trader(api)
    key = await create(api, login, scope="trading")
    status, placed = await order(api, key["token"], quantity="1")
    assert status == 201, placed
    assert placed["order"]["status"] == "filled"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", KEYS, {"name": "another"}),
    ("GET", KEYS, None),
    ("DELETE", f"{KEYS}/whatever", None),
    ("POST", "/api/v1/auth/password/change",
     {"current_password": PASSWORD, "new_password": "another password 123"}),
    ("DELETE", "/api/v1/me", {"password": PASSWORD}),
    ("POST", "/api/v1/auth/logout", None),
])
@pytest.mark.parametrize("scope", ["trading", "read"])
async def test_a_key_cannot_manage_keys_the_password_or_the_account(api, method, path, body,
                                                                    scope):
    login = (await api.account())["access_token"]
    key = await create(api, login, scope=scope)
    status, refused = await api.call(method, path, body, token=key["token"])
    assert (status, code(refused)) == (403, "forbidden_for_api_key")
    assert (await api.call("GET", "/api/v1/me", token=login))[0] == 200


async def test_at_most_ten_keys_per_user(api):
    login = (await api.account())["access_token"]
    made = [await create(api, login, f"bot {n}") for n in range(10)]
    status, refused = await api.call("POST", KEYS, {"name": "eleventh"}, token=login)
    assert (status, code(refused)) == (409, "too_many_api_keys")
    assert (await api.call("DELETE", f"{KEYS}/{made[0]['id']}", token=login))[0] == 204
    await create(api, login, "eleventh")
    racing = await asyncio.gather(*(api.call("POST", KEYS, {"name": "race"}, token=login)
                                    for _ in range(3)))
    assert all(status == 409 for status, _ in racing)
    assert len((await api.call("GET", KEYS, token=login))[1]["api_keys"]) == 10


async def test_a_password_change_keeps_keys_and_deleting_the_account_removes_them(api):
    login = (await api.account())["access_token"]
    key = await create(api, login)
    status, _ = await api.call("POST", "/api/v1/auth/password/change", {
        "current_password": PASSWORD, "new_password": "another password 123"}, token=login)
    assert status == 204
    assert (await api.call("GET", "/api/v1/me", token=key["token"]))[0] == 200
    sock = await api.socket(key["token"])
    status, _ = await api.call("DELETE", "/api/v1/me", {"password": "another password 123"},
                               token=login)
    assert status == 204
    await asyncio.wait_for(sock.disconnected.wait(), 5)
    status, refused = await api.call("GET", "/api/v1/me", token=key["token"])
    assert (status, code(refused)) == (401, "invalid_api_key")
    assert await api.app[keys.STORE].db["api_keys"].count_documents({}) == 0


# -- sockets ---------------------------------------------------------------------


async def refused(api: Api, **connect: Any) -> dict[str, Any]:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await api.socket(**connect)
    return dict(api.sockets[-1].connect_error["data"])


async def test_a_socket_connects_with_a_key_and_is_refused_a_bad_one(api):
    login = (await api.account())["access_token"]
    key = await create(api, login)
    for sock in (await api.socket(key["token"]),
                 await api.socket(key_id=key["key_id"], secret=key["secret"]),
                 await api.socket(headers=pair(key))):
        assert (await sock.call("whoami"))["user"]["email"] == "ann@example.com"
    assert (await refused(api, token=key["token"][:-1] + "*"))["code"] == "invalid_api_key"
    assert (await refused(api, key_id=key["key_id"], secret="x"))["code"] == "invalid_api_key"
    assert (await refused(api, key_id={"$ne": 1}, secret=[]))["code"] == "invalid_api_key"


async def test_a_read_keys_socket_reads_and_subscribes_but_cannot_place_orders(api):
    login = await priced_trader(api)
    key = await create(api, login, scope="read")
    sock = await api.socket(key["token"])
    assert (await sock.call("get_account"))["ok"] is True
    assert (await sock.call("subscribe", {"symbols": ["AAPL"]}))["ok"] is True
    ack = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})
    assert ack["ok"] is False and ack["error"]["code"] == "insufficient_scope"
    trading = await api.socket((await create(api, login, "trader"))["token"])
    placed = await trading.call("place_order", {"symbol": "AAPL", "side": "buy",
                                                "quantity": "1"})
    assert placed["ok"] is True, placed
    await sock.next("trade_update")  # the user's events reach a read key's socket


async def test_revoking_a_key_closes_its_sockets_and_no_others(api):
    login = (await api.account())["access_token"]
    key, other = await create(api, login), await create(api, login, "other")
    sock, kept = await api.socket(key["token"]), await api.socket(other["token"])
    ws = await api.client.ws_connect("/ws", headers={"Authorization": f"Bearer {key['token']}"})
    plain = PlainSocket(ws)
    assert (await plain.call("whoami"))["ok"] is True
    assert (await api.call("DELETE", f"{KEYS}/{key['id']}", token=login))[0] == 204
    assert await sock.next("session_revoked") == {"reason": "session ended"}
    await asyncio.wait_for(sock.disconnected.wait(), 5)
    assert (await plain.receive())["type"] == "session_revoked"
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    assert (await kept.call("whoami"))["ok"] is True


async def test_the_plain_websocket_takes_a_key_in_headers_or_the_first_message(api):
    login = await priced_trader(api)
    key = await create(api, login, scope="read")
    by_header = PlainSocket(await api.client.ws_connect("/ws", headers=pair(key)))
    assert (await by_header.call("get_account"))["ok"] is True
    refused_order = await by_header.call("place_order", {"symbol": "AAPL", "side": "buy",
                                                         "quantity": "1"})
    assert refused_order["error"]["code"] == "insufficient_scope"
    ws = await api.client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "id": 1,
                        "data": {"key_id": key["key_id"], "secret": key["secret"]}})
    assert (await PlainSocket(ws).receive())["ok"] is True
    bad = await api.client.ws_connect("/ws", headers={"Authorization": "Bearer PK.nope"})
    message = await PlainSocket(bad).receive()
    assert (message["type"], message["error"]["code"]) == ("error", "invalid_api_key")


# -- limits ----------------------------------------------------------------------


async def test_each_key_has_its_own_rate_limit_bucket(servers, settings):
    api = await servers.start(replace(settings, limits=replace(settings.limits,
                                                               user_per_minute=3)))
    login = (await api.account())["access_token"]
    first, second = await create(api, login, "first"), await create(api, login, "second")
    statuses = [(await api.call("GET", "/api/v1/me", token=first["token"]))[0]
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert (await api.call("GET", "/api/v1/me", token=second["token"]))[0] == 200
    for _ in range(2):
        assert (await api.call("GET", "/api/v1/me", headers=pair(second)))[0] == 200
    assert (await api.call("GET", "/api/v1/me", headers=pair(second)))[0] == 429
    assert (await api.call("GET", KEYS, token=login))[0] == 200  # the login's own bucket


# -- hostile input ---------------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("body", [
    {"name": "x" * 65}, {"name": "x" * 100_000}, {"name": ""}, {"name": "   "},
    {"name": "\u200b\u202e"}, {"name": None}, {"name": 42}, {"name": ["a"]},
    {"name": _nested(200)}, {}, {"name": "bot", "scope": "admin"},
    {"name": "bot", "scope": {"$ne": None}}, {"name": "bot", "scope": 1}, [1, 2], "name",
])
async def test_hostile_key_requests_are_400(api, body):
    login = (await api.account())["access_token"]
    status, answer = await api.call("POST", KEYS, body, token=login)
    assert status == 400, answer
    assert code(answer) in {"validation_error", "invalid_json"}
    assert (await api.call("GET", KEYS, token=login))[1]["api_keys"] == []


async def test_names_may_be_any_script_up_to_64_characters(api):
    login = (await api.account())["access_token"]
    for name in ["ボット 🤖", "Ünïcødé", "я" * 64, "بوت التداول"]:
        assert (await create(api, login, name))["name"] == name


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer PK" + "A" * 15_000},
    {"Authorization": "Bearer PK" + "." * 2000},
    {"Authorization": "Bearer PK\u00e9\u00e8.secret"},
    {"Authorization": "Bearer PKAAAAAAAAAAAAAAAAAA.a.b.c.d"},
    {"APCA-API-KEY-ID": "PK" + "A" * 15_000, "APCA-API-SECRET-KEY": "x"},
    {"APCA-API-KEY-ID": "PKé", "APCA-API-SECRET-KEY": "ключ"},
    {"APCA-API-KEY-ID": "...", "APCA-API-SECRET-KEY": "..."},
    {"APCA-API-KEY-ID": "PKAAAAAAAAAAAAAAAAAA"},
    {"APCA-API-SECRET-KEY": "A" * 40},
    {"APCA-API-KEY-ID": "", "APCA-API-SECRET-KEY": ""},
])
async def test_hostile_key_headers_are_refused_never_a_server_error(api, headers):
    encoded = {name: value.encode().decode("latin-1") for name, value in headers.items()}
    async with api.client.get("/api/v1/account", headers=encoded) as response:
        answer = await response.json()
    assert response.status in {401, 431}, answer
    if response.status == 401:
        assert code(answer) == "invalid_api_key"


@pytest.mark.parametrize("auth", [
    {"key_id": "PK" + "A" * 60_000, "secret": "x"},
    {"key_id": "PKÄÖÜ", "secret": "ключ"},
    {"key_id": "...", "secret": "..."},
    {"key_id": None, "secret": None},
    {"key_id": 12, "secret": True},
    {"key_id": _nested(20), "secret": "x"},
    {"token": "PK" + "." * 5000},
    {"token": "PKAAAAAAAAAAAAAAAAAA.секрет"},
])
async def test_hostile_socket_keys_are_refused_never_a_server_error(api, auth):
    assert (await refused(api, **auth))["code"] == "invalid_api_key"
    ws = await api.client.ws_connect("/ws")
    await ws.send_json({"type": "auth", "id": 1, "data": auth})
    message = await PlainSocket(ws).receive()
    # /ws reads the first message's JSON and token field as it always has: too deep or
    # too long is refused as input, before any key is looked at.
    assert message["type"] == "error"
    assert message["error"]["code"] in {"invalid_api_key", "invalid_json", "validation_error"}
    assert (await ws.receive(timeout=5)).type == aiohttp.WSMsgType.CLOSE
    assert ws.close_code == 4401


async def test_revoking_a_key_on_one_process_ends_it_on_the_other(servers, redis_settings):
    first = await servers.start(redis_settings)
    second = await servers.start(replace(redis_settings, port=0))
    login = (await first.account())["access_token"]
    key = await create(first, login)
    assert (await second.call("GET", "/api/v1/me", token=key["token"]))[0] == 200  # cached
    sock = await second.socket(key["token"])
    loop = asyncio.get_running_loop()
    assert (await first.call("DELETE", f"{KEYS}/{key['id']}", token=login))[0] == 204
    revoked_at = loop.time()
    while (await second.call("GET", "/api/v1/me", token=key["token"]))[0] == 200:  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    assert loop.time() - revoked_at <= 1.1
    assert await sock.next("session_revoked") == {"reason": "session ended"}
    await asyncio.wait_for(sock.disconnected.wait(), 5)
