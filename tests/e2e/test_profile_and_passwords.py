"""The signed-in user's profile, password changes, resets and account deletion."""

import re
from dataclasses import replace

import pytest

from handlers import keys
from tests.support import PASSWORD

NEW_PASSWORD = "a brand new secret"


async def test_get_me_returns_the_token_owner(api):
    tokens = await api.account(email="ann@example.com")
    await api.account(email="bob@example.com", name="Bob")
    status, body = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert status == 200
    assert body["user"] == tokens["user"]


async def test_patch_me_updates_name_and_phone(api):
    tokens = await api.account()
    status, body = await api.call("PATCH", "/api/v1/me",
                                  {"name": "Ann B", "phone": "+1 415-555-0100"},
                                  token=tokens["access_token"])
    assert status == 200
    assert (body["user"]["name"], body["user"]["phone"]) == ("Ann B", "+14155550100")
    _, body = await api.call("PATCH", "/api/v1/me", {"phone": None}, token=tokens["access_token"])
    assert body["user"]["phone"] is None
    _, body = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert (body["user"]["name"], body["user"]["phone"]) == ("Ann B", None)


@pytest.mark.parametrize(("body", "code"), [
    ({}, "validation_error"),
    ({"email": "new@example.com"}, "validation_error"),
    ({"name": ""}, "validation_error"),
    ({"name": 7}, "validation_error"),
    ({"phone": "0800 FLOWERS"}, "validation_error"),
])
async def test_patch_me_rejects_bad_changes_and_keeps_the_profile(api, body, code):
    tokens = await api.account()
    status, answer = await api.call("PATCH", "/api/v1/me", body, token=tokens["access_token"])
    assert (status, answer["error"]["code"]) == (400, code)
    _, me = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert me["user"] == tokens["user"]


async def test_change_password_ends_other_sessions_and_keeps_this_one(api):
    this = await api.account()
    other = await api.login()
    status, _ = await api.call("POST", "/api/v1/auth/password/change",
                               {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                               token=this["access_token"])
    assert status == 204
    assert (await api.call("GET", "/api/v1/me", token=this["access_token"]))[0] == 200
    assert (await api.call("GET", "/api/v1/me", token=other["access_token"]))[0] == 401
    assert (await api.call("POST", "/api/v1/auth/refresh",
                           {"refresh_token": other["refresh_token"]}))[0] == 401
    assert (await api.call("POST", "/api/v1/auth/login",
                           {"email": "ann@example.com", "password": PASSWORD}))[0] == 401
    await api.login(password=NEW_PASSWORD)


async def test_change_password_needs_the_current_one_and_a_valid_new_one(api):
    tokens = await api.account()
    status, body = await api.call("POST", "/api/v1/auth/password/change",
                                  {"current_password": "wrong password",
                                   "new_password": NEW_PASSWORD},
                                  token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    status, body = await api.call("POST", "/api/v1/auth/password/change",
                                  {"current_password": PASSWORD, "new_password": "short"},
                                  token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (400, "invalid_password")
    assert body["error"]["details"]["field"] == "new_password"
    await api.login(password=PASSWORD)


def reset_token(message) -> str:
    match = re.search(r"token=([\w-]+)", message.text)
    assert match, "the reset message carries a link with the token"
    return match.group(1)


async def test_forgot_password_for_unknown_email_is_202_and_sends_nothing(api, email):
    await api.register(email="ann@example.com")
    status, body = await api.call("POST", "/api/v1/auth/password/forgot",
                                  {"email": "nobody@example.com"})
    assert status == 202
    known = await api.call("POST", "/api/v1/auth/password/forgot", {"email": "ann@example.com"})
    assert known == (status, body)
    message = await email.wait_for(lambda m: m.kind == "password_reset")
    assert message.to == "ann@example.com"
    assert [m.to for m in email.messages if m.kind == "password_reset"] == ["ann@example.com"]


async def test_reset_token_sets_password_once_and_ends_all_sessions(api, email):
    tokens = await api.account()
    await api.call("POST", "/api/v1/auth/password/forgot", {"email": "Ann@Example.com"})
    token = reset_token(await email.wait_for(lambda m: m.kind == "password_reset"))
    assert len(token) >= 43  # 32 random bytes, base64url
    stored = await api.app[keys.STORE].db["password_resets"].find_one({})
    assert token not in str(stored)

    status, _ = await api.call("POST", "/api/v1/auth/password/reset",
                               {"token": token, "new_password": NEW_PASSWORD})
    assert status == 204
    assert (await api.call("GET", "/api/v1/me", token=tokens["access_token"]))[0] == 401
    await api.login(password=NEW_PASSWORD)
    status, body = await api.call("POST", "/api/v1/auth/password/reset",
                                  {"token": token, "new_password": "yet another one"})
    assert (status, body["error"]["code"]) == (400, "invalid_reset_token")
    await api.login(password=NEW_PASSWORD)


async def test_reset_token_expires_after_30_minutes(api, email, later):
    await api.register()
    await api.call("POST", "/api/v1/auth/password/forgot", {"email": "ann@example.com"})
    token = reset_token(await email.wait_for(lambda m: m.kind == "password_reset"))
    later(minutes=31)
    status, body = await api.call("POST", "/api/v1/auth/password/reset",
                                  {"token": token, "new_password": NEW_PASSWORD})
    assert (status, body["error"]["code"]) == (400, "invalid_reset_token")
    await api.login(password=PASSWORD)


async def test_reset_with_a_bad_new_password_does_not_use_up_the_token(api, email):
    await api.register()
    await api.call("POST", "/api/v1/auth/password/forgot", {"email": "ann@example.com"})
    token = reset_token(await email.wait_for(lambda m: m.kind == "password_reset"))
    status, body = await api.call("POST", "/api/v1/auth/password/reset",
                                  {"token": token, "new_password": "short"})
    assert (status, body["error"]["code"]) == (400, "invalid_password")
    status, _ = await api.call("POST", "/api/v1/auth/password/reset",
                               {"token": token, "new_password": NEW_PASSWORD})
    assert status == 204


async def test_a_newer_reset_token_replaces_the_older_one(api, email):
    await api.register()
    await api.call("POST", "/api/v1/auth/password/forgot", {"email": "ann@example.com"})
    first = reset_token(await email.wait_for(lambda m: m.kind == "password_reset"))
    await api.call("POST", "/api/v1/auth/password/forgot", {"email": "ann@example.com"})
    second = reset_token(await email.wait_for(
        lambda m: m.kind == "password_reset" and reset_token(m) != first))
    status, _ = await api.call("POST", "/api/v1/auth/password/reset",
                               {"token": first, "new_password": NEW_PASSWORD})
    assert status == 400
    status, _ = await api.call("POST", "/api/v1/auth/password/reset",
                               {"token": second, "new_password": NEW_PASSWORD})
    assert status == 204


async def test_delete_me_needs_the_password(api):
    tokens = await api.account()
    status, body = await api.call("DELETE", "/api/v1/me", {"password": "wrong password"},
                                  token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    status, body = await api.call("DELETE", "/api/v1/me", token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (400, "invalid_json")
    assert (await api.call("GET", "/api/v1/me", token=tokens["access_token"]))[0] == 200


async def test_delete_me_removes_the_user_and_their_data(api):
    tokens = await api.account()
    bob = await api.account(email="bob@example.com", name="Bob")
    status, _ = await api.call("DELETE", "/api/v1/me", {"password": PASSWORD},
                               token=tokens["access_token"])
    assert status == 204
    assert (await api.call("GET", "/api/v1/me", token=tokens["access_token"]))[0] == 401
    assert (await api.call("POST", "/api/v1/auth/login",
                           {"email": "ann@example.com", "password": PASSWORD}))[0] == 401
    db = api.app[keys.STORE].db
    ann_id = tokens["user"]["id"]
    assert await db["users"].count_documents({"_id": ann_id}) == 0
    assert await db["sessions"].count_documents({"user_id": ann_id}) == 0
    assert await db["sessions"].count_documents({"user_id": bob["user"]["id"]}) == 1
    # The email is free again.
    await api.register(email="ann@example.com")


async def test_a_deletion_whose_commit_is_lost_changes_nothing(api, monkeypatch):
    from store.unit_of_work import UnitOfWork

    tokens = await api.account()
    second = (await api.call("POST", "/api/v1/auth/login",
                             {"email": "ann@example.com", "password": PASSWORD}))[1]
    original = UnitOfWork.run

    async def lost(self, work):
        async def written_then_crash(writes):
            await work(writes)  # the user marked and the sessions revoked, not committed
            raise RuntimeError("before the commit")
        return await original(self, written_then_crash)

    monkeypatch.setattr(UnitOfWork, "run", lost)
    status, _ = await api.call("DELETE", "/api/v1/me", {"password": PASSWORD},
                               token=tokens["access_token"])
    assert status == 500
    monkeypatch.setattr(UnitOfWork, "run", original)
    for token in (tokens["access_token"], second["access_token"]):
        assert (await api.call("GET", "/api/v1/me", token=token))[0] == 200
    status, _ = await api.call("DELETE", "/api/v1/me", {"password": PASSWORD},
                               token=tokens["access_token"])
    assert status == 204
    for token in (tokens["access_token"], second["access_token"]):
        assert (await api.call("GET", "/api/v1/me", token=token))[0] == 401


async def test_the_welcome_email_confirms_the_address_once(api, email):
    await api.register()
    welcome = await email.wait_for(lambda m: m.kind == "welcome")
    assert (welcome.to, welcome.subject) == ("ann@example.com",
                                             "Welcome to PaperDesk: confirm your email")
    token = reset_token(welcome)
    status, body = await api.call("POST", "/api/v1/auth/verify-email", {"token": token})
    assert (status, body["user"]["email_verified"]) == (200, True)
    status, body = await api.call("POST", "/api/v1/auth/verify-email", {"token": token})
    assert (status, body["error"]["code"]) == (400, "invalid_verification_token")
    _, me = await api.call("GET", "/api/v1/me", token=(await api.login())["access_token"])
    assert me["user"]["email_verified"] is True
    status, body = await api.call("POST", "/api/v1/auth/verify-email", {"token": "made-up"})
    assert (status, body["error"]["code"]) == (400, "invalid_verification_token")


async def test_secret_links_leave_the_outbox_once_sent(api, email):
    await api.register()
    await api.call("POST", "/api/v1/auth/password/forgot", {"email": "ann@example.com"})
    token = reset_token(await email.wait_for(lambda m: m.kind == "password_reset"))
    await api.app[keys.OUTBOX].quiet()
    rows = [row async for row in api.app[keys.STORE].outbox.outbox.find({})]
    assert {row["kind"] for row in rows} == {"welcome", "password_reset"}
    assert all(row["status"] == "sent" and row["data"] == {} for row in rows)
    assert token not in str(rows)


async def test_a_profile_change_is_seen_at_once_though_profiles_are_cached(api):
    tokens = await api.account()
    token = tokens["access_token"]
    assert (await api.call("GET", "/api/v1/me", token=token))[1]["user"]["name"] == "Ann"
    await api.call("PATCH", "/api/v1/me", {"name": "Annie"}, token=token)
    assert (await api.call("GET", "/api/v1/me", token=token))[1]["user"]["name"] == "Annie"


# -- wrong passwords are limited like failed logins -----------------------------------


def guessing(settings, failures: int = 3):  # type: ignore[no-untyped-def]
    return replace(settings, limits=replace(settings.limits, login_failures=failures,
                                            trust_forwarded_for=True))


def from_address(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


class CountingChecks:
    """Counts the bcrypt checks the app makes."""

    def __init__(self, api) -> None:  # type: ignore[no-untyped-def]
        self.count = 0
        hasher = api.app[keys.AUTH].hasher
        verify = hasher.verify

        async def counted(password: str, hashed: str | None) -> bool:
            self.count += 1
            return await verify(password, hashed)

        hasher.verify = counted


def delete_me(api, password: str, token: str, address: str):  # type: ignore[no-untyped-def]
    return api.call("DELETE", "/api/v1/me", {"password": password}, token=token,
                    headers=from_address(address))


def change_password(api, current: str, token: str, address: str):  # type: ignore[no-untyped-def]
    return api.call("POST", "/api/v1/auth/password/change",
                    {"current_password": current, "new_password": NEW_PASSWORD}, token=token,
                    headers=from_address(address))


async def refused_as_rate_limited(call) -> None:  # type: ignore[no-untyped-def]
    """The call answers 429 rate_limited with Retry-After, as a blocked login does."""
    status, body = await call
    assert (status, body["error"]["code"]) == (429, "rate_limited")
    assert 1 <= body["error"]["details"]["retry_after"] <= 15 * 60


async def test_delete_me_wrong_passwords_are_limited_like_failed_logins(servers, settings):
    api = await servers.start(guessing(settings))
    token = (await api.account())["access_token"]
    checks = CountingChecks(api)
    for _ in range(3):
        status, body = await delete_me(api, "wrong password", token, "198.51.100.7")
        assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    # Now refused before any bcrypt work, even with the right password.
    await refused_as_rate_limited(delete_me(api, PASSWORD, token, "198.51.100.7"))
    assert checks.count == 3
    response = await api.client.delete("/api/v1/me", json={"password": "wrong password"},
                                       headers={"Authorization": f"Bearer {token}",
                                                **from_address("198.51.100.7")})
    assert response.status == 429
    assert 1 <= int(response.headers["Retry-After"]) <= 15 * 60
    assert response.headers["X-RateLimit-Limit"] == "3"
    assert (await api.call("GET", "/api/v1/me", token=token))[0] == 200  # still there
    # The owner, from elsewhere, is not locked out.
    assert (await delete_me(api, PASSWORD, token, "192.0.2.44"))[0] == 204


async def test_password_change_wrong_passwords_are_limited_like_failed_logins(servers,
                                                                             settings):
    api = await servers.start(guessing(settings))
    token = (await api.account())["access_token"]
    checks = CountingChecks(api)
    for _ in range(3):
        status, body = await change_password(api, "wrong password", token, "198.51.100.7")
        assert (status, body["error"]["code"]) == (401, "invalid_credentials")
    await refused_as_rate_limited(change_password(api, PASSWORD, token, "198.51.100.7"))
    assert checks.count == 3
    assert (await change_password(api, PASSWORD, token, "192.0.2.44"))[0] == 204


async def test_login_change_and_delete_share_one_budget_of_wrong_passwords(servers, settings):
    """A stolen access token buys no guesses beyond those a login would allow."""
    api = await servers.start(guessing(settings))
    token = (await api.account())["access_token"]
    address = "198.51.100.7"
    assert (await api.call("POST", "/api/v1/auth/login",
                           {"email": "ann@example.com", "password": "wrong password"},
                           headers=from_address(address)))[0] == 401
    assert (await change_password(api, "wrong password", token, address))[0] == 401
    assert (await delete_me(api, "wrong password", token, address))[0] == 401
    await refused_as_rate_limited(api.call("POST", "/api/v1/auth/login",
                                           {"email": "ann@example.com", "password": PASSWORD},
                                           headers=from_address(address)))
    await refused_as_rate_limited(change_password(api, PASSWORD, token, address))
    await refused_as_rate_limited(delete_me(api, PASSWORD, token, address))


async def test_a_policy_refusal_of_the_new_password_is_not_a_wrong_guess(servers, settings):
    api = await servers.start(guessing(settings, failures=1))
    token = (await api.account())["access_token"]
    for _ in range(3):
        status, body = await api.call("POST", "/api/v1/auth/password/change",
                                      {"current_password": PASSWORD, "new_password": "short"},
                                      token=token)
        assert (status, body["error"]["code"]) == (400, "invalid_password")
    assert (await api.call("POST", "/api/v1/auth/password/change",
                           {"current_password": PASSWORD, "new_password": NEW_PASSWORD},
                           token=token))[0] == 204


# -- names and lone surrogates in a profile update ---------------------------------


async def test_patch_me_with_a_lone_surrogate_is_400_invalid_json(api):
    tokens = await api.account()
    for raw in (b'{"name": "x\\ud800"}', b'{"phone": "\\udfff+14155550100"}',
                b'{"name": "Ann", "x\\ud800": 1}'):
        status, body = await api.call("PATCH", "/api/v1/me", data=raw,
                                      token=tokens["access_token"],
                                      headers={"Content-Type": "application/json"})
        assert status == 400, raw
        assert set(body) == {"error"} and body["error"]["code"] == "invalid_json"
    _, me = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert me["user"] == tokens["user"]


@pytest.mark.parametrize(("name", "stored"), [
    ("\u202eAnn\u202c B", "Ann B"),
    ("\u2067Ann\u2069 \u200eB\u200f", "Ann B"),
    ("Ann\tB\x00\x7f\x9f", "Ann B"),
    ("Renée 王芳 🙂", "Renée 王芳 🙂"),
    ("🏳\ufe0f\u200d🌈 Ann", "🏳\ufe0f\u200d🌈 Ann"),
])
async def test_patch_me_strips_invisible_formatting_from_the_name(api, name, stored):
    tokens = await api.account()
    status, body = await api.call("PATCH", "/api/v1/me", {"name": name},
                                  token=tokens["access_token"])
    assert (status, body["user"]["name"]) == (200, stored)
    _, me = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert me["user"]["name"] == stored


@pytest.mark.parametrize("name", ["\u202e\u202c", "\u2066\u2069\u200b", "\x1b\x07", "\ufeff",
                                  "y" * 101, "z" * 1001, None, 3.5, []])
async def test_patch_me_refuses_names_with_nothing_visible_or_too_long(api, name):
    tokens = await api.account()
    status, body = await api.call("PATCH", "/api/v1/me", {"name": name},
                                  token=tokens["access_token"])
    assert (status, body["error"]["code"], body["error"]["details"]["field"]) == (
        400, "validation_error", "name")
    _, me = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert me["user"]["name"] == "Ann"
