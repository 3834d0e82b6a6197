"""Notifications: stored first, delivered by the outbox worker, never blocking trading."""

import asyncio
import email
import socket
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller

from handlers import keys
from server.app import create_app
from store.embedded import free_port
from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import order, set_price
from tests.support import until


class SmtpInbox:
    """A local SMTP server (aiosmtpd) that keeps what it receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received: list[email.message.Message] = []
        self.welcomes: list[email.message.Message] = []  # sent to every new account
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content)
        message["X-Rcpt-To"] = ",".join(envelope.rcpt_tos)
        welcome = message["Subject"].startswith("Welcome")
        (self.welcomes if welcome else self.received).append(message)
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    inbox = SmtpInbox(free_port())
    inbox.start()
    yield inbox
    inbox.stop()


def with_smtp(settings, port: int, **notify):
    return replace(settings, notify=replace(
        settings.notify, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False,
        retry_first=0.05, retry_max=0.2, **notify))


async def start(servers, settings):
    """Start the app with its configured channels (not the tests' recording email)."""
    return await servers.start_app(create_app(settings, clock=servers.clock, feeds=[]))


def text_of(message) -> str:
    return next(part.get_payload(decode=True).decode() for part in message.walk()
                if part.get_content_type() == "text/plain")


async def user_with_alert(api, channels):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    await api.call("POST", "/api/v1/alerts", {"symbol": "AAPL", "condition": "above",
                                              "price": "105", "channels": channels,
                                              "note": "breakout"},
                   token=tokens["access_token"])
    return tokens


async def test_a_fired_alert_is_emailed_and_shown_in_the_app(servers, settings, smtp):
    api = await start(servers, with_smtp(settings, smtp.port))
    tokens = await user_with_alert(api, ["in_app", "email"])
    token = tokens["access_token"]
    sock = await api.socket(token)
    set_price(api, "AAPL", "106")
    await settled(api)
    pushed = await sock.next("notification")
    assert pushed["notification"]["title"] == "AAPL alert: price 106"
    await until(lambda: smtp.received)
    [mail] = smtp.received
    assert (mail["X-Rcpt-To"], mail["Subject"]) == ("ann@example.com", "AAPL alert: price 106")
    assert "fired at 106" in text_of(mail) and "breakout" in text_of(mail)
    assert (await api.call("GET", "/api/v1/notifications/unread-count", token=token))[1] == {
        "unread": 1}
    _, listed = await api.call("GET", "/api/v1/notifications?unread=true", token=token)
    [note] = listed["notifications"]
    _, read = await api.call("POST", f"/api/v1/notifications/{note['id']}/read", token=token)
    assert read["notification"]["read"] is True
    assert (await api.call("GET", "/api/v1/notifications/unread-count", token=token))[1] == {
        "unread": 0}
    _, unread = await api.call("GET", "/api/v1/notifications?unread=true", token=token)
    assert unread["notifications"] == []


async def test_without_smtp_email_is_recorded_as_skipped_not_sent(servers, settings):
    api = await start(servers, settings)
    await user_with_alert(api, ["email", "in_app"])
    set_price(api, "AAPL", "106")
    await settled(api)
    await api.app[keys.OUTBOX].quiet()
    rows = {r["channel"]: r async for r in api.app[keys.STORE].outbox.outbox.find(
        {"kind": "alert_triggered"})}
    assert rows["email"]["status"] == "skipped"
    assert "not configured" in rows["email"]["last_error"]
    assert rows["in_app"]["status"] == "sent"


async def test_a_mail_server_that_is_down_is_retried_and_delivers_once(servers, settings,
                                                                      later):
    smtp = SmtpInbox(free_port())  # not started: connections are refused
    api = await start(servers, with_smtp(settings, smtp.port))
    await user_with_alert(api, ["email"])
    set_price(api, "AAPL", "106")
    await settled(api)
    worker, outbox = api.app[keys.OUTBOX], api.app[keys.STORE].outbox.outbox
    await worker.quiet()
    for attempt in (1, 2, 3):
        row = await outbox.find_one({"kind": "alert_triggered"})
        assert (row["status"], row["attempts"]) == ("pending", attempt)
        assert "Error" in row["last_error"]
        later(seconds=60)  # past the backoff
        worker.nudge()
        await worker.quiet()
    smtp.start()
    try:
        later(seconds=60)
        worker.nudge()
        await worker.quiet()
        row = await outbox.find_one({"kind": "alert_triggered"})
        assert (row["status"], row["attempts"], len(smtp.received)) == ("sent", 5, 1)
        later(seconds=600)  # nothing is sent again
        worker.nudge()
        await worker.quiet()
        assert len(smtp.received) == 1
    finally:
        smtp.stop()


async def test_the_same_event_never_makes_two_messages(servers, settings, smtp):
    api = await start(servers, with_smtp(settings, smtp.port))
    tokens = await api.account()
    worker = api.app[keys.OUTBOX]
    user_id = tokens["user"]["id"]
    data = {"symbol": "AAPL", "condition": "above", "level": "1", "price": "2", "note": ""}
    assert await worker.request(user_id, "alert_triggered", "evt-1", ["email"], data) == 1
    assert await worker.request(user_id, "alert_triggered", "evt-1", ["email"], data) == 0
    await worker.quiet()
    assert len(smtp.received) == 1


def crashed_row(key: str, status: str, user_id: str, now, lease_until) -> dict:
    return {"_id": f"{key}:email", "user_id": user_id, "kind": "order_filled",
            "channel": "email", "data": {"symbol": "AAPL", "type": "limit", "side": "buy",
                                         "quantity": "1", "filled_price": key},
            "status": status, "attempts": 1 if status == "sending" else 0, "last_error": None,
            "next_attempt_at": lease_until if status == "sending" else now,
            "lease_until": lease_until, "created_at": now,
            "updated_at": now}


async def test_messages_a_crash_left_are_delivered_without_waiting_for_a_restart(
        servers, settings, smtp, clock):
    api = await start(servers, with_smtp(settings, smtp.port))
    tokens = await api.account()
    # As a crash leaves them: one never tried, and one cut off mid-send (its lease over).
    now = clock()
    await api.app[keys.STORE].db["outbox"].insert_many([
        crashed_row("written", "pending", tokens["user"]["id"], now, None),
        crashed_row("cut-off", "sending", tokens["user"]["id"], now, now)])
    api.app[keys.OUTBOX].nudge()
    await until(lambda: len(smtp.received) == 2)
    await api.app[keys.OUTBOX].quiet()
    assert sorted(m["Subject"] for m in smtp.received) == [
        "AAPL limit order filled at cut-off", "AAPL limit order filled at written"]
    statuses = [row["status"] async for row in api.app[keys.STORE].db["outbox"].find(
        {"_id": {"$in": ["written:email", "cut-off:email"]}})]
    assert statuses == ["sent", "sent"]


async def test_a_message_whose_sender_stopped_mid_send_is_sent_when_its_lease_ends(
        servers, settings, smtp, clock, later):
    """In a cluster a sender may die while the others run on: no restart comes."""
    api = await start(servers, with_smtp(settings, smtp.port))
    tokens = await api.account()
    outbox = api.app[keys.STORE].outbox
    # As a claim leaves it: sending, and due again when its lease ends.
    lease_until = clock() + timedelta(seconds=60)
    await outbox.add([crashed_row("cut-off", "sending", tokens["user"]["id"], clock(),
                                  lease_until)])
    api.app[keys.OUTBOX].nudge()
    await api.app[keys.OUTBOX].quiet()
    assert smtp.received == []  # the lease still runs
    later(seconds=61)
    api.app[keys.OUTBOX].nudge()
    await until(lambda: len(smtp.received) == 1)
    assert smtp.received[0]["Subject"] == "AAPL limit order filled at cut-off"
    await api.app[keys.OUTBOX].quiet()  # its delivery recorded
    assert (await outbox.keyed.get("cut-off:email"))["status"] == "sent"


async def test_a_hanging_mail_server_does_not_delay_a_stop_loss(servers, settings):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_say_nothing() -> None:
        silent.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(silent.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_say_nothing, daemon=True)
    thread.start()
    try:
        api = await start(servers, with_smtp(settings, silent.getsockname()[1],
                                            send_timeout=5.0))
        tokens = await user_with_alert(api, ["email"])
        token = tokens["access_token"]
        set_price(api, "AAPL", "106")  # the alert's email now hangs
        await settled(api)
        status, _ = await order(api, token, stop_loss="105")
        assert status == 201
        loop = asyncio.get_running_loop()
        started = loop.time()
        set_price(api, "AAPL", "104")
        await settled(api)
        elapsed = loop.time() - started
        _, trades = await api.call("GET", "/api/v1/trades?status=closed", token=token)
        assert [t["close_reason"] for t in trades["trades"]] == ["stop_loss"]
        assert elapsed < 1.0  # the hanging email (5 s timeout) is not on this path
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        silent.close()


async def test_a_stop_loss_close_and_a_resting_fill_are_notified(servers, settings, smtp):
    api = await start(servers, with_smtp(settings, smtp.port))
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    await order(api, token, stop_loss="95")
    await order(api, token, type="limit", limit_price="94", quantity="1")
    set_price(api, "AAPL", "93.5")  # closes the trade and fills the resting buy
    await settled(api)
    worker = api.app[keys.OUTBOX]
    await worker.quiet()
    assert sorted(m["Subject"] for m in smtp.received) == [
        "AAPL limit order filled at 93.5", "AAPL trade closed by stop loss"]
    closed = next(m for m in smtp.received if "closed" in m["Subject"])
    assert "Realized PnL: -65.00 USD." in text_of(closed)
    _, notes = await api.call("GET", "/api/v1/notifications", token=token)
    assert sorted(n["title"] for n in notes["notifications"]) == [
        "AAPL limit order filled at 93.5", "AAPL trade closed by stop loss"]


async def test_every_close_is_notified_whoever_closes_it(servers, settings, smtp):
    api = await start(servers, with_smtp(settings, smtp.port))
    token = (await api.account())["access_token"]
    set_price(api, "AAPL", "100")
    _, by_hand = await order(api, token)
    _, by_all = await order(api, token, quantity="2")
    _, partly = await order(api, token, quantity="4")
    trade_id = by_hand["order"]["trade_id"]
    assert (await api.call("POST", f"/api/v1/trades/{trade_id}/exit", token=token))[0] == 200
    partial = {"quantity": "1"}
    assert (await api.call("POST", f"/api/v1/trades/{partly['order']['trade_id']}/exit",
                           partial, token=token))[0] == 200  # still open: no notice
    assert (await api.call("POST", "/api/v1/trades/exit-all", token=token))[0] == 200
    await api.app[keys.OUTBOX].quiet()
    rows = [r async for r in api.app[keys.STORE].outbox.outbox.find(
        {"kind": "trade_closed", "channel": "email"})]
    assert sorted(r["_id"] for r in rows) == sorted(
        f"closed:{body['order']['trade_id']}:email" for body in (by_hand, by_all, partly))
    assert sorted(r["data"]["reason"] for r in rows) == ["exit_all", "exit_all", "manual"]
    assert len(smtp.received) == 3


class FakeTwilio:
    """A local HTTP server answering Twilio's Messages API like Twilio does."""

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []
        self.auth: list[str] = []
        self.app = web.Application()
        self.app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.create)

    async def create(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.auth.append(request.headers.get("Authorization", ""))
        self.messages.append({key: str(value) for key, value in form.items()})
        return web.json_response({
            "sid": f"SM{len(self.messages):032d}", "account_sid": request.match_info["sid"],
            "to": form["To"], "from": form["From"], "body": form["Body"], "status": "queued",
            "num_segments": "1", "direction": "outbound-api"}, status=201)


async def test_sms_goes_through_the_twilio_api_to_the_profile_phone(servers, settings):
    twilio = FakeTwilio()
    stand_in = TestServer(twilio.app)
    await stand_in.start_server()
    try:
        configured = replace(settings, notify=replace(
            settings.notify, twilio_account_sid="AC" + "1" * 32, twilio_auth_token="t" * 32,
            twilio_from="+15005550006", twilio_api_url=str(stand_in.make_url("")).rstrip("/")))
        api = await start(servers, configured)
        await api.register(phone="+44 20 7946 0958")
        token = (await api.login())["access_token"]
        bob = (await api.account(email="bob@example.com", name="Bob"))["access_token"]
        set_price(api, "AAPL", "100")
        for who in (token, bob):  # Bob has no phone number
            await api.call("POST", "/api/v1/alerts", {"symbol": "AAPL", "condition": "above",
                                                      "price": "105", "channels": ["sms"]},
                           token=who)
        set_price(api, "AAPL", "106")
        await settled(api)
        await api.app[keys.OUTBOX].quiet()
        [sms] = twilio.messages
        assert (sms["To"], sms["From"]) == ("+442079460958", "+15005550006")
        assert sms["Body"].startswith("AAPL alert: price 106\n")
        assert twilio.auth[0].startswith("Basic ")
        rows = [row async for row in api.app[keys.STORE].outbox.outbox.find({"channel": "sms"})]
        statuses = sorted((row["status"], row["last_error"]) for row in rows)
        assert statuses == [("sent", None), ("skipped", "no address for this channel")]
    finally:
        await stand_in.close()


async def test_preferences_choose_the_channels_of_each_kind(servers, settings, smtp):
    api = await start(servers, with_smtp(settings, smtp.port))
    token = (await api.account())["access_token"]
    _, body = await api.call("GET", "/api/v1/notifications/preferences", token=token)
    assert body["preferences"] == {"trade_closed": ["in_app", "email"],
                                   "order_filled": ["in_app", "email"],
                                   "notice": ["in_app", "email"]}
    status, body = await api.call("PUT", "/api/v1/notifications/preferences",
                                  {"preferences": {"trade_closed": ["in_app"]}}, token=token)
    assert (status, body["preferences"]["trade_closed"]) == (200, ["in_app"])
    for bad in ({"preferences": {"trade_closed": ["pigeon"]}}, {"preferences": {"x": []}},
                {"preferences": ["in_app"]}):
        status, answer = await api.call("PUT", "/api/v1/notifications/preferences", bad,
                                        token=token)
        assert (status, answer["error"]["code"]) == (400, "validation_error")
    set_price(api, "AAPL", "100")
    await order(api, token, stop_loss="95")
    set_price(api, "AAPL", "94")
    await settled(api)
    await api.app[keys.OUTBOX].quiet()
    assert smtp.received == []  # email was turned off for closed trades
    _, notes = await api.call("GET", "/api/v1/notifications", token=token)
    assert [n["kind"] for n in notes["notifications"]] == ["trade_closed"]


async def test_a_user_notice_is_delivered_and_limited_to_five_a_minute(servers, settings, smtp):
    api = await start(servers, with_smtp(settings, smtp.port))
    token = (await api.account())["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    remaining = []
    for n in range(5):
        async with api.client.post("/api/v1/notifications", headers=auth,
                                   json={"event": f"Note {n}", "message": "Check BTC"}) as sent:
            assert (sent.status, await sent.json()) == (202, {"queued": ["in_app", "email"]})
            # The headers tell of the route's 5 a minute, not of the 600 of every route.
            assert sent.headers["X-RateLimit-Limit"] == "5"
            remaining.append(sent.headers["X-RateLimit-Remaining"])
    assert remaining == ["4", "3", "2", "1", "0"]
    async with api.client.post("/api/v1/notifications", json={"event": "x", "message": "y"},
                               headers=auth) as response:
        assert response.status == 429
        assert (await response.json())["error"]["code"] == "rate_limited"
        assert 1 <= int(response.headers["Retry-After"]) <= 60
        assert response.headers["X-RateLimit-Limit"] == "5"
        assert response.headers["X-RateLimit-Remaining"] == "0"
    # Other routes still tell of the per-user limit.
    async with api.client.get("/api/v1/me", headers=auth) as other:
        assert other.headers["X-RateLimit-Limit"] == str(settings.limits.user_per_minute)
    await api.app[keys.OUTBOX].quiet()
    assert sorted(m["Subject"] for m in smtp.received) == [f"Note {n}" for n in range(5)]
    status, body = await api.call("POST", "/api/v1/notifications", {"event": "x"}, token=token)
    assert (status, body["error"]["details"]["field"]) == (400, "message")


async def outbox_rows(api, user_id):
    return {(row["kind"], row["channel"]): row
            for row in await api.app[keys.STORE].outbox.for_user(user_id)}


async def test_past_its_budget_a_users_notifications_are_skipped_on_every_channel(
        servers, settings, smtp):
    settings = with_smtp(settings, smtp.port)
    api = await start(servers, replace(settings, limits=replace(
        settings.limits, notifications_per_hour=3)))
    worker = api.app[keys.OUTBOX]
    tokens = await user_with_alert(api, ["in_app", "email"])  # the welcome is not counted
    token, user_id = tokens["access_token"], tokens["user"]["id"]
    await order(api, token, type="limit", limit_price="99", quantity="1")
    await order(api, token, stop_loss="95")
    set_price(api, "AAPL", "106")  # 1: the alert, to two channels
    await settled(api)
    await api.call("POST", "/api/v1/notifications", {"event": "Note", "message": "m"},
                   token=token)  # 2
    set_price(api, "AAPL", "98.5")  # 3: the resting buy fills
    await settled(api)
    set_price(api, "AAPL", "94")  # 4: the stop-loss closes the trade: over the budget
    await settled(api)
    await worker.quiet()
    rows = await outbox_rows(api, user_id)
    assert {key: row["status"] for key, row in rows.items()} == {
        ("welcome", "email"): "sent",
        ("alert_triggered", "in_app"): "sent", ("alert_triggered", "email"): "sent",
        ("notice", "in_app"): "sent", ("notice", "email"): "sent",
        ("order_filled", "in_app"): "sent", ("order_filled", "email"): "sent",
        ("trade_closed", "in_app"): "skipped", ("trade_closed", "email"): "skipped"}
    for channel in ("in_app", "email"):
        skipped = rows[("trade_closed", channel)]
        assert skipped["reason"] == "budget"
        assert "budget of 3 notifications" in skipped["last_error"]
    assert sorted(m["Subject"] for m in smtp.received) == [
        "AAPL alert: price 106", "AAPL limit order filled at 98.5", "Note"]
    _, notes = await api.call("GET", "/api/v1/notifications", token=token)
    assert len(notes["notifications"]) == 3
    # What the user asks for (a reset link) still goes out, and uncounted.
    await api.call("POST", "/api/v1/auth/password/forgot", {"email": "ann@example.com"})
    await until(lambda: any(m["Subject"].startswith("Reset") for m in smtp.received))
    # Another user's budget is their own.
    bob = await api.account(email="bob@example.com", name="Bob")
    await api.call("POST", "/api/v1/notifications", {"event": "Bob's", "message": "m"},
                   token=bob["access_token"])
    await until(lambda: any(m["Subject"] == "Bob's" for m in smtp.received))


async def test_the_default_budget_is_sixty_notifications_an_hour(servers, settings):
    api = await start(servers, settings)
    worker = api.app[keys.OUTBOX]
    user_id = (await api.account())["user"]["id"]
    data = {"event": "e", "message": "m"}
    for n in range(61):
        await worker.request(user_id, "notice", f"notice:{n}", ["in_app", "email"], data)
    await worker.quiet()
    rows = await api.app[keys.STORE].outbox.for_user(user_id)
    over = sorted(row["_id"] for row in rows if row.get("reason") == "budget")
    assert over == ["notice:60:email", "notice:60:in_app"]
    assert sum(row["status"] == "sent" for row in rows) == 60  # in-app; email is off
