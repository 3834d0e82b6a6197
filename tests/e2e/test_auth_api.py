"""Registration, login, refresh rotation and logout over REST."""

import asyncio
import json
import time
from dataclasses import replace

import pytest

from handlers import keys
from tests.support import PASSWORD


async def test_register_returns_user_without_hash_and_normalises_email(api):
    status, body = await api.call("POST", "/api/v1/auth/register", {
        "email": "  Ann.Lee@Example.COM ", "password": PASSWORD, "name": " Ann  Lee ",
        "phone": "+44 20 7946 0958"})
    assert status == 201
    user = body["user"]
    assert user["email"] == "ann.lee@example.com"
    assert user["name"] == "Ann Lee"
    assert user["phone"] == "+442079460958"
    assert set(user) == {"id", "email", "email_verified", "name", "phone", "created_at",
                         "leaderboard"}
    assert user["email_verified"] is False
    stored = await api.app[keys.STORE].users.by_id(user["id"])
    assert stored["password_hash"].startswith("$2b$04$")
    assert PASSWORD not in str(stored)


async def test_register_same_email_again_is_409_email_taken(api):
    await api.register(email="ann@example.com")
    status, body = await api.call("POST", "/api/v1/auth/register", {
        "email": "ANN@example.com ", "password": PASSWORD, "name": "Other"})
    assert status == 409
    assert body["error"]["code"] == "email_taken"


async def test_concurrent_registrations_of_one_email_create_one_user(api):
    results = await asyncio.gather(*(api.call("POST", "/api/v1/auth/register", {
        "email": "race@example.com", "password": PASSWORD, "name": "Race"}) for _ in range(5)))
    assert sorted(status for status, _ in results) == [201, 409, 409, 409, 409]


@pytest.mark.parametrize(("body", "field"), [
    ({"password": PASSWORD, "name": "Ann"}, "email"),
    ({"email": "not-an-email", "password": PASSWORD, "name": "Ann"}, "email"),
    ({"email": 42, "password": PASSWORD, "name": "Ann"}, "email"),
    ({"email": "a@example.com", "password": PASSWORD}, "name"),
    ({"email": "a@example.com", "password": PASSWORD, "name": "   "}, "name"),
    ({"email": "a@example.com", "name": "Ann"}, "password"),
    ({"email": "a@example.com", "password": PASSWORD, "name": "Ann", "phone": "12345"}, "phone"),
])
async def test_register_rejects_missing_or_bad_fields_naming_the_field(api, body, field):
    status, answer = await api.call("POST", "/api/v1/auth/register", body)
    assert status == 400
    assert answer["error"]["code"] == "validation_error"
    assert answer["error"]["details"]["field"] == field


@pytest.mark.parametrize("password", ["short12", "x" * 73, "é" * 37])
async def test_register_rejects_passwords_outside_8_to_72_bytes(api, password):
    status, body = await api.call("POST", "/api/v1/auth/register", {
        "email": "a@example.com", "password": password, "name": "Ann"})
    assert status == 400
    assert body["error"]["code"] == "invalid_password"


async def test_password_of_exactly_72_multibyte_bytes_is_accepted_whole(api):
    password = "é" * 36  # 72 bytes in UTF-8
    await api.register(password=password)
    await api.login(password=password)
    status, _ = await api.call("POST", "/api/v1/auth/login",
                               {"email": "ann@example.com", "password": "é" * 35 + "e"})
    assert status == 401


async def test_login_returns_bearer_token_pair(api, settings):
    await api.register()
    status, body = await api.call("POST", "/api/v1/auth/login",
                                  {"email": " ANN@example.com", "password": PASSWORD})
    assert status == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == int(settings.access_token_ttl.total_seconds())
    assert body["access_token"] != body["refresh_token"]


async def test_wrong_password_and_unknown_email_get_the_same_401(api):
    await api.register()
    wrong = await api.call("POST", "/api/v1/auth/login",
                           {"email": "ann@example.com", "password": "not the password"})
    unknown = await api.call("POST", "/api/v1/auth/login",
                             {"email": "bob@example.com", "password": "not the password"})
    assert wrong == unknown
    assert wrong[0] == 401
    assert wrong[1]["error"]["code"] == "invalid_credentials"


async def test_unknown_email_login_spends_a_bcrypt_check_like_a_known_one(servers, settings):
    api = await servers.start(replace(settings, bcrypt_cost=10))
    await api.register()

    async def timed(email: str) -> float:
        start = time.perf_counter()
        status, _ = await api.call("POST", "/api/v1/auth/login",
                                   {"email": email, "password": "wrong password"})
        assert status == 401
        return time.perf_counter() - start

    await timed("nobody@example.com")  # creates the dummy hash once
    known = min([await timed("ann@example.com") for _ in range(3)])
    unknown = min([await timed("nobody@example.com") for _ in range(3)])
    # Cost 10 takes tens of milliseconds; without the dummy check an unknown
    # email would answer in about one database round trip.
    assert unknown > known * 0.5


async def test_refresh_returns_new_pair_and_old_refresh_token_stops_working(api):
    tokens = await api.account()
    status, fresh = await api.call("POST", "/api/v1/auth/refresh",
                                   {"refresh_token": tokens["refresh_token"]})
    assert status == 200
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert (await api.call("GET", "/api/v1/me", token=fresh["access_token"]))[0] == 200
    again = await api.call("POST", "/api/v1/auth/refresh",
                           {"refresh_token": tokens["refresh_token"]})
    assert again[0] == 401
    assert again[1]["error"]["code"] == "invalid_token"


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(api):
    tokens = await api.account()
    _, rotated = await api.call("POST", "/api/v1/auth/refresh",
                                {"refresh_token": tokens["refresh_token"]})
    # An attacker replays the stolen, already-rotated token...
    assert (await api.call("POST", "/api/v1/auth/refresh",
                           {"refresh_token": tokens["refresh_token"]}))[0] == 401
    # ...and every token of that login is dead, including the legitimate new ones.
    for token in (rotated["access_token"], tokens["access_token"]):
        status, body = await api.call("GET", "/api/v1/me", token=token)
        assert status == 401
        assert body["error"]["code"] == "invalid_token"
    assert (await api.call("POST", "/api/v1/auth/refresh",
                           {"refresh_token": rotated["refresh_token"]}))[0] == 401


async def test_concurrent_refreshes_with_one_token_let_exactly_one_win(api):
    tokens = await api.account()
    results = await asyncio.gather(*(api.call("POST", "/api/v1/auth/refresh",
                                              {"refresh_token": tokens["refresh_token"]})
                                     for _ in range(4)))
    assert sorted(status for status, _ in results).count(200) == 1


async def test_other_logins_survive_a_refresh_reuse_in_one_session(api):
    first = await api.account()
    second = await api.login()
    await api.call("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    await api.call("POST", "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert (await api.call("GET", "/api/v1/me", token=second["access_token"]))[0] == 200


async def test_access_token_cannot_be_used_as_refresh_token_and_vice_versa(api):
    tokens = await api.account()
    status, body = await api.call("POST", "/api/v1/auth/refresh",
                                  {"refresh_token": tokens["access_token"]})
    assert body["error"] == {"code": "invalid_token", "message": "Expected a refresh token."}
    assert status == 401
    status, body = await api.call("GET", "/api/v1/me", token=tokens["refresh_token"])
    assert body["error"] == {"code": "invalid_token", "message": "Expected an access token."}
    assert status == 401


async def test_logout_revokes_access_and_refresh_tokens_at_once(api):
    tokens = await api.account()
    assert (await api.call("POST", "/api/v1/auth/logout", token=tokens["access_token"]))[0] == 204
    status, body = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (401, "invalid_token")
    status, _ = await api.call("POST", "/api/v1/auth/refresh",
                               {"refresh_token": tokens["refresh_token"]})
    assert status == 401


async def test_logout_ends_only_its_own_session(api):
    first = await api.account()
    second = await api.login()
    await api.call("POST", "/api/v1/auth/logout", token=first["access_token"])
    assert (await api.call("GET", "/api/v1/me", token=second["access_token"]))[0] == 200


async def test_expired_access_token_is_401_token_expired(api, clock, later, settings):
    later(seconds=-settings.access_token_ttl.total_seconds() - 5)  # issue it in the past
    tokens = await api.account()
    status, body = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert status == 401
    assert body["error"]["code"] == "token_expired"


async def test_expired_refresh_token_is_401_invalid_token_not_token_expired(api, later,
                                                                            settings):
    # token_expired tells a client to refresh; for a refresh token it must log in again.
    later(seconds=-settings.refresh_token_ttl.total_seconds() - 5)
    tokens = await api.account()
    status, body = await api.call("POST", "/api/v1/auth/refresh",
                                  {"refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]["code"]) == (401, "invalid_token")
    assert "log in again" in body["error"]["message"]


async def test_an_expired_access_token_sent_to_refresh_is_invalid_token(api, later, settings):
    later(seconds=-settings.access_token_ttl.total_seconds() - 5)
    tokens = await api.account()
    status, body = await api.call("POST", "/api/v1/auth/refresh",
                                  {"refresh_token": tokens["access_token"]})
    assert (status, body["error"]["code"]) == (401, "invalid_token")


async def test_short_configured_access_lifetime_is_honoured(servers, settings, later):
    from datetime import timedelta
    api = await servers.start(replace(settings, access_token_ttl=timedelta(seconds=30)))
    later(seconds=-31)
    tokens = await api.account()
    assert tokens["expires_in"] == 30
    status, body = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (401, "token_expired")


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer ", "Basic abc", "Token abc"])
async def test_missing_or_malformed_authorization_is_401(api, header):
    status, body = await api.call("GET", "/api/v1/me", headers={"Authorization": header})
    assert status == 401
    assert body["error"]["code"] == "authentication_required"


async def test_tampered_or_foreign_tokens_are_invalid(api):
    import jwt
    tokens = await api.account()
    head, payload, signature = tokens["access_token"].split(".")
    # The first character carries six bits of the signature (the last carries only
    # four, and a signature may already end in "AA"), so this always changes it.
    tampered = f"{head}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    unsigned = jwt.encode({"sub": tokens["user"]["id"]}, key=None, algorithm="none")
    foreign = jwt.encode({"sub": "x", "sid": "y", "jti": "z", "typ": "access",
                          "iss": "paperdesk", "iat": 1, "exp": 4_000_000_000},
                         "another-secret-that-is-long-enough-123", algorithm="HS256")
    for token in (tampered, unsigned, foreign, "garbage"):
        status, body = await api.call("GET", "/api/v1/me", token=token)
        assert (status, body["error"]["code"]) == (401, "invalid_token"), token


# -- lone surrogates and names ----------------------------------------------------

LONE_SURROGATE = '"x\\ud800"'  # a JSON escape of a lone UTF-16 surrogate


def raw_body(fields: dict[str, str], field: str) -> bytes:
    """A JSON object of fields whose field holds "x\\ud800", escaped as a client sends it."""
    parts = [f'"{name}": {LONE_SURROGATE if name == field else json.dumps(value)}'
             for name, value in fields.items()]
    return ("{" + ", ".join(parts) + "}").encode()


@pytest.mark.parametrize("field", ["email", "password", "name", "phone"])
async def test_register_with_a_lone_surrogate_is_400_invalid_json(api, field):
    fields = {"email": "ann@example.com", "password": PASSWORD, "name": "Ann",
              "phone": "+14155550100"}
    status, body = await api.call("POST", "/api/v1/auth/register", data=raw_body(fields, field),
                                  headers={"Content-Type": "application/json"})
    assert status == 400
    assert set(body) == {"error"} and body["error"]["code"] == "invalid_json"
    assert body["error"]["message"]
    # Nothing was created: the same email registers afterwards.
    await api.register()


@pytest.mark.parametrize("field", ["email", "password"])
async def test_login_with_a_lone_surrogate_is_400_invalid_json(api, field):
    await api.register()
    fields = {"email": "ann@example.com", "password": PASSWORD}
    status, body = await api.call("POST", "/api/v1/auth/login", data=raw_body(fields, field),
                                  headers={"Content-Type": "application/json"})
    assert status == 400
    assert set(body) == {"error"} and body["error"]["code"] == "invalid_json"
    await api.login()


@pytest.mark.parametrize(("name", "stored"), [
    ("\u202eAnn\u202c Lee", "Ann Lee"),                 # a bidi override and its pop
    ("Ann\u2066 \u2069Lee\u200f", "Ann Lee"),           # isolates and a mark
    ("A\x00n\x1bn\x85 \x9bLee\u200b\ufeff", "Ann Lee"),  # C0, C1, zero-width, BOM
    ("Zoë Ñúñez", "Zoë Ñúñez"),
    ("Zoe\u0308", "Zoë"),                                   # NFC
    ("李小龍", "李小龍"),
    ("👩\u200d👩\u200d👧 Ann ❤\ufe0f", "👩\u200d👩\u200d👧 Ann ❤\ufe0f"),
    ("محمد Smith", "محمد Smith"),
])
async def test_register_strips_invisible_formatting_from_names(api, name, stored):
    user = await api.register(name=name)
    assert user["name"] == stored


@pytest.mark.parametrize("name", [
    "\u202e", "\u200b\u200e\u2066\u2069", "\x00\x07\x1b", "\u3164", "\u200d\u200d", " \u0301 ",
    "x" * 101, "\u202e" * 1001, 42, ["Ann"], {"first": "Ann"}, True,
])
async def test_register_refuses_names_with_nothing_visible_too_long_or_not_text(api, name):
    status, body = await api.call("POST", "/api/v1/auth/register", {
        "email": "ann@example.com", "password": PASSWORD, "name": name})
    assert status == 400
    assert (body["error"]["code"], body["error"]["details"]["field"]) == (
        "validation_error", "name")


async def test_a_long_name_padded_with_invisible_characters_keeps_what_shows(api):
    user = await api.register(name="\u202a" * 400 + "x" * 100 + "\u200b" * 400)
    assert user["name"] == "x" * 100
