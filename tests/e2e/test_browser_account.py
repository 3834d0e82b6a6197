"""A newcomer's account on the page, in headless Chromium: the links the server emails
(through a local SMTP server) open the page's screens that complete their flows."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace

import pytest

from server.app import create_app
from store.embedded import free_port
from tests.e2e.test_browser_page import ARTIFACTS, Driver, launch, needs_browser, stop
from tests.e2e.test_notifications import SmtpInbox, text_of, with_smtp
from tests.e2e.trading_support import set_price
from tests.support import PASSWORD, Api, Servers, until

NEW_PASSWORD = "a new passphrase \u2713"
LAST_PASSWORD = "the last passphrase"


@pytest.fixture
def smtp() -> Iterator[SmtpInbox]:
    inbox = SmtpInbox(free_port())
    inbox.start()
    yield inbox
    inbox.stop()


def link_in(message, path: str, api: Api) -> str:  # type: ignore[no-untyped-def]
    """The one link to `path` in an email: on this server, with a token."""
    [link] = re.findall(rf"\S+/{path}\?token=[\w-]+", text_of(message))
    assert link.startswith(f"{api.url}{path}?token="), link
    return link


async def login_status(api: Api, email: str, password: str) -> int:
    status, _ = await api.call("POST", "/api/v1/auth/login",
                               {"email": email, "password": password})
    return status


async def reach(driver: Driver, step: str) -> None:
    await driver.reached(step, within=30)


@needs_browser
async def test_a_newcomer_confirms_the_email_resets_the_password_and_deletes_the_account(
        servers: Servers, settings, smtp: SmtpInbox) -> None:  # type: ignore[no-untyped-def]
    port = free_port()  # the server's own address goes into the links it emails
    configured = replace(with_smtp(settings, smtp.port), public_url=f"http://127.0.0.1:{port}")
    api = await servers.start_app(create_app(configured, clock=servers.clock, feeds=[]), port)
    set_price(api, "AAPL", "100")
    email = "newcomer@example.com"
    driver = await launch(api, "account-page.mjs", email)
    try:
        await reach(driver, "registered")
        await until(lambda: smtp.welcomes)
        [welcome] = smtp.welcomes
        assert welcome["X-Rcpt-To"] == email
        driver.go(link_in(welcome, "verify-email", api))
        await reach(driver, "forgot")
        await until(lambda: smtp.received)
        [reset] = smtp.received
        driver.go(link_in(reset, "reset-password", api))
        await reach(driver, "logged-in")
        assert await login_status(api, email, PASSWORD) == 401
        tokens = await api.login(email, NEW_PASSWORD)
        _, body = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
        assert (body["user"]["email_verified"], body["user"]["name"]) == (True, "Zo\u00eb Newcomer")
        driver.go()
        await reach(driver, "changed")
        assert await login_status(api, email, LAST_PASSWORD) == 200
        driver.go()
        output = await driver.finish()
    finally:
        await stop(driver)
    assert await login_status(api, email, LAST_PASSWORD) == 401  # the account is gone
    shown = dict(re.findall(r"^([a-z0-9 ]+): (.*)$", output, re.MULTILINE))
    assert shown["registered"] == (
        f"Welcome! We emailed {email} a link to confirm the address.")
    assert shown["verified"] == f"Thank you: {email} is confirmed."
    assert shown["again"] == ("This link is invalid, expired or was already used. Your account "
                              "works without it: log in to carry on.")
    for length in (0, 7, 3007, 26):  # no token, an empty one, a huge one, not ASCII
        assert shown[f"mangled {length}"] == shown["again"]
    assert shown["mangled reset"] == (
        "This reset link is invalid, expired or was already used. Ask for a new one.")
    assert shown["too long"] == "Password must be 8 to 72 bytes long (UTF-8)."
    assert shown["forgot"] == "If the account exists, a reset link is on its way."
    assert shown["mismatch"] == "The two passwords differ."
    assert shown["reset"] == "Your password is changed, and every session was logged out."
    assert shown["old password"] == "Email or password is incorrect."
    assert shown["wrong current"] == "Current password is incorrect."
    assert shown["changed"] == "Password changed. Your other sessions were logged out."
    assert shown["wrong delete"] == "Password is incorrect."
    assert shown["deleted"] == "Your account was deleted."
    delete = "Delete your account and everything in it? This cannot be undone."
    assert re.findall(r"^dialogs: (.*)$", output, re.MULTILINE) == [
        "Exit every open trade at the market?", f"{delete} | {delete}"]
    assert output.rstrip().endswith("done")
    assert (ARTIFACTS / "account-page.png").stat().st_size > 10_000


async def curl(api: Api, method: str, path: str, *headers: str) -> tuple[int, dict]:
    """A request as a user's shell would send it: curl, with these headers."""
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", "-X", method, "-w", "\n%{http_code}",
        *[arg for header in headers for arg in ("-H", header)], f"{api.url}{path.lstrip('/')}",
        stdout=asyncio.subprocess.PIPE)
    out, _ = await process.communicate()
    body, _, status = out.decode().rpartition("\n")
    return int(status), json.loads(body)


@needs_browser
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed (make packages)")
async def test_a_user_creates_copies_lists_and_revokes_an_api_key_on_the_page(api: Api) -> None:
    driver = await launch(api, "keys-page.mjs", "bots@example.com")
    try:
        await reach(driver, "created")
        [token] = re.findall(r"^token: (\S+)$", "\n".join(driver.output), re.MULTILINE)
        assert re.fullmatch(r"PK[A-Z0-9]{18}\.[\w-]{40}", token), token
        key_id, secret = token.split(".")
        status, body = await curl(api, "GET", "/api/v1/account", f"Authorization: Bearer {token}")
        assert (status, body["account"]["cash"]) == (200, "100000"), body
        status, body = await curl(api, "GET", "/api/v1/account", f"APCA-API-KEY-ID: {key_id}",
                                  f"APCA-API-SECRET-KEY: {secret}")
        assert status == 200, body
        status, body = await curl(api, "DELETE", "/api/v1/watchlist/AAPL",
                                  f"Authorization: Bearer {token}")
        assert (status, body["error"]["code"]) == (403, "insufficient_scope")
        driver.go()
        await reach(driver, "revoked")
        status, body = await curl(api, "GET", "/api/v1/account", f"Authorization: Bearer {token}")
        assert (status, body["error"]["code"]) == (401, "invalid_api_key")
        driver.go()
        output = await driver.finish()
    finally:
        await stop(driver)
    shown = dict(re.findall(r"^([a-z ]+): (.*)$", output, re.MULTILINE))
    assert shown["blank"] == "Name must be 1 to 64 characters."
    assert shown["warning"] == "Copy this token now: it will not be shown again."
    assert re.fullmatch(r"my bot \U0001f916 read PK[A-Z0-9]{18} \S+ \S+ never Revoke",
                        shown["listed"]), shown["listed"]
    assert shown["eleventh"].startswith("At most 10"), shown["eleventh"]
    assert shown["left"] == "9"
    revoke = ('Revoke the API key "my bot \U0001f916"? Programs using it stop working at '
              "once.")
    assert shown["dialogs"] == f"{revoke} | {revoke}"
    assert output.rstrip().endswith("done")
