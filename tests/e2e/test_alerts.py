"""Price alerts: owned by their user, fired by the monitor once per crossing."""

from dataclasses import replace
from datetime import timedelta

import pytest

from handlers import keys
from tests.e2e.test_monitor import settled
from tests.e2e.trading_support import set_price


@pytest.fixture
async def user(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens["access_token"]


async def create(api, token, **fields):
    body = {"symbol": "AAPL", "condition": "above", "price": "105", **fields}
    return await api.call("POST", "/api/v1/alerts", body, token=token)


async def tick(api, price):
    set_price(api, "AAPL", price)
    await settled(api)


async def test_create_list_get_change_and_delete_an_alert(api, user):
    status, body = await create(api, user, note="breakout", channels=["in_app", "email"])
    assert status == 201
    alert = body["alert"]
    assert (alert["status"], alert["price"], alert["channels"], alert["repeat"]) == (
        "active", "105", ["in_app", "email"], False)
    _, listed = await api.call("GET", "/api/v1/alerts?status=active", token=user)
    assert [a["id"] for a in listed["alerts"]] == [alert["id"]]
    _, changed = await api.call("PATCH", f"/api/v1/alerts/{alert['id']}", {"price": "107.5"},
                                token=user)
    assert changed["alert"]["price"] == "107.5"
    _, gone = await api.call("DELETE", f"/api/v1/alerts/{alert['id']}", token=user)
    assert gone["alert"]["status"] == "cancelled"
    await tick(api, "110")
    _, fetched = await api.call("GET", f"/api/v1/alerts/{alert['id']}", token=user)
    assert (fetched["alert"]["status"], fetched["alert"]["fired"]) == ("cancelled", 0)


async def test_a_one_shot_alert_fires_once_with_an_event_and_a_notification_request(api, user):
    sock = await api.socket(user)
    _, body = await create(api, user, channels=["email"])
    await tick(api, "104.99")
    await tick(api, "106")
    event = await sock.next("alert_triggered")
    assert (event["alert"]["id"], event["price"], event["alert"]["status"]) == (
        body["alert"]["id"], "106", "triggered")
    assert event["seq"] >= 1
    await tick(api, "107")
    _, fetched = await api.call("GET", f"/api/v1/alerts/{body['alert']['id']}", token=user)
    assert (fetched["alert"]["fired"], fetched["alert"]["triggered_price"]) == (1, "106")
    _, me = await api.call("GET", "/api/v1/me", token=user)
    rows = await api.app[keys.STORE].outbox.for_user(me["user"]["id"])
    assert [(r["kind"], r["channel"], r["data"]["price"]) for r in rows
            if r["kind"] == "alert_triggered"] == [("alert_triggered", "email", "106")]


async def test_below_and_crosses_alerts(api, user):
    _, below = await create(api, user, condition="below", price="95")
    _, crosses = await create(api, user, condition="crosses", price="97")  # now above it
    await tick(api, "96")
    _, body = await api.call("GET", "/api/v1/alerts?status=triggered", token=user)
    assert [a["id"] for a in body["alerts"]] == [crosses["alert"]["id"]]
    await tick(api, "94")
    _, body = await api.call("GET", "/api/v1/alerts?status=triggered", token=user)
    assert {a["id"] for a in body["alerts"]} == {below["alert"]["id"], crosses["alert"]["id"]}


async def fired(api, token, alert_id):
    _, fetched = await api.call("GET", f"/api/v1/alerts/{alert_id}", token=token)
    return fetched["alert"]["status"], fetched["alert"]["fired"]


async def test_a_repeating_alert_re_arms_after_its_cooldown_and_crosses_back(api, user, later):
    _, body = await create(api, user, condition="crosses", price="102", repeat=True,
                           cooldown=60)
    alert_id = body["alert"]["id"]
    await tick(api, "103")  # up through 102
    await tick(api, "104")  # still above: no new crossing
    await tick(api, "101")  # back down through 102, but still resting
    assert await fired(api, user, alert_id) == ("active", 1)
    later(seconds=60)
    await tick(api, "101")  # the first tick after the rest: below 102, the way back
    assert await fired(api, user, alert_id) == ("active", 2)


async def test_a_repeating_alert_needs_at_least_the_minimum_cooldown(api, user):
    for cooldown in (0, 59):
        status, body = await create(api, user, repeat=True, cooldown=cooldown)
        assert (status, body["error"]["code"], body["error"]["details"]["field"]) == (
            400, "validation_error", "cooldown")
        assert "60 to 86400" in body["error"]["message"]
    status, body = await create(api, user, repeat=True)  # the default cooldown is allowed
    assert (status, body["alert"]["cooldown"]) == (201, 60)
    repeating = body["alert"]["id"]
    status, body = await api.call("PATCH", f"/api/v1/alerts/{repeating}", {"cooldown": 10},
                                  token=user)
    assert (status, body["error"]["details"]["field"]) == (400, "cooldown")
    # A one-shot alert may say 0 (it never rests), but cannot be made to repeat with it.
    status, body = await create(api, user, cooldown=0)
    assert status == 201
    one_shot = body["alert"]["id"]
    status, body = await api.call("PATCH", f"/api/v1/alerts/{one_shot}", {"repeat": True},
                                  token=user)
    assert (status, body["error"]["details"]["field"]) == (400, "cooldown")
    status, body = await api.call("PATCH", f"/api/v1/alerts/{one_shot}",
                                  {"repeat": True, "cooldown": 120}, token=user)
    assert (status, body["alert"]["repeat"], body["alert"]["cooldown"]) == (200, True, 120)
    sock = await api.socket(user)
    answer = await sock.call("create_alert", {"symbol": "AAPL", "condition": "above",
                                              "price": "105", "repeat": True, "cooldown": 1})
    assert (answer["error"]["code"], answer["error"]["details"]["field"]) == (
        "validation_error", "cooldown")


async def test_the_minimum_cooldown_is_a_setting(servers, settings):
    api = await servers.start(replace(settings, limits=replace(
        settings.limits, alert_min_cooldown=timedelta(seconds=300))))
    token = (await api.account())["access_token"]
    status, body = await create(api, token, repeat=True, cooldown=60)
    assert (status, body["error"]["details"]["field"]) == (400, "cooldown")
    assert "300 to 86400" in body["error"]["message"]
    status, body = await create(api, token, repeat=True)
    assert (status, body["alert"]["cooldown"]) == (201, 300)


async def test_a_repeating_alert_rests_the_minimum_whatever_cooldown_it_was_stored_with(
        api, user, later):
    """An alert stored with cooldown 0 (before the minimum) fired on every tick."""
    _, body = await create(api, user, repeat=True, channels=["in_app", "email"])
    alert_id = body["alert"]["id"]
    await api.app[keys.STORE].alerts.alerts.update_one({"_id": alert_id},
                                                       {"$set": {"cooldown": 0}})
    for step in range(20):  # above 105 on every tick
        await tick(api, f"{106 + step}")
    assert await fired(api, user, alert_id) == ("active", 1)
    later(seconds=59)
    await tick(api, "130")
    assert await fired(api, user, alert_id) == ("active", 1)
    later(seconds=1)
    await tick(api, "131")
    assert await fired(api, user, alert_id) == ("active", 2)
    _, me = await api.call("GET", "/api/v1/me", token=user)
    rows = await api.app[keys.STORE].outbox.for_user(me["user"]["id"])
    assert sorted(r["channel"] for r in rows if r["kind"] == "alert_triggered") == [
        "email", "email", "in_app", "in_app"]


async def test_a_stale_tick_does_not_fire_an_alert(api, user, clock):
    from datetime import timedelta

    from tests.support import quote
    await create(api, user)
    api.app[keys.MARKET].hub.publish(quote("AAPL", "110", clock() - timedelta(minutes=5)))
    await settled(api)
    _, body = await api.call("GET", "/api/v1/alerts?status=triggered", token=user)
    assert body["alerts"] == []


async def test_other_users_cannot_see_change_or_delete_an_alert(api, user):
    _, body = await create(api, user)
    alert_id = body["alert"]["id"]
    bob = (await api.account(email="bob@example.com", name="Bob"))["access_token"]
    for method, payload in (("GET", None), ("PATCH", {"price": "1"}), ("DELETE", None)):
        status, answer = await api.call(method, f"/api/v1/alerts/{alert_id}", payload, token=bob)
        assert (status, answer["error"]["code"]) == (404, "not_found")
    _, theirs = await api.call("GET", "/api/v1/alerts", token=bob)
    assert theirs["alerts"] == []
    _, mine = await api.call("GET", f"/api/v1/alerts/{alert_id}", token=user)
    assert mine["alert"]["price"] == "105"


@pytest.mark.parametrize(("fields", "code"), [
    ({"condition": "sideways"}, "validation_error"), ({"price": "0"}, "invalid_price"),
    ({"price": None}, "validation_error"), ({"symbol": "DOGE"}, "unknown_symbol"),
    ({"channels": ["pigeon"]}, "validation_error"), ({"channels": []}, "validation_error"),
    ({"repeat": "yes"}, "validation_error"), ({"cooldown": -1}, "validation_error")])
async def test_bad_alerts_are_refused(api, user, fields, code):
    status, body = await create(api, user, **fields)
    assert (status, body["error"]["code"]) == (400, code)


async def test_alerts_survive_a_restart(servers, settings, api, user):
    await create(api, user)
    await servers.stop(api)
    again = await servers.start(settings)
    set_price(again, "AAPL", "106")
    await settled(again)
    _, body = await again.call("GET", "/api/v1/alerts?status=triggered", token=user)
    assert len(body["alerts"]) == 1


async def test_alert_commands_over_a_socket(api, user):
    sock = await api.socket(user)
    created = await sock.call("create_alert", {"symbol": "AAPL", "condition": "below",
                                               "price": "90"})
    assert created["ok"] is True
    listed = await sock.call("list_alerts", {"status": "active"})
    assert [a["id"] for a in listed["alerts"]] == [created["alert"]["id"]]
    deleted = await sock.call("delete_alert", {"alert_id": created["alert"]["id"]})
    assert deleted["alert"]["status"] == "cancelled"
    bad = await sock.call("create_alert", {"symbol": "AAPL", "condition": "up", "price": "1"})
    assert bad["error"]["code"] == "validation_error"


async def test_a_fire_whose_commit_is_lost_leaves_nothing_and_fires_on_the_next_crossing(
        api, user, monkeypatch):
    from store.unit_of_work import Writes

    _, body = await create(api, user, channels=["email"])
    alert_id = body["alert"]["id"]
    _, me = await api.call("GET", "/api/v1/me", token=user)
    outbox, events = api.app[keys.STORE].outbox, api.app[keys.STORE].db["events"]
    events_before = await events.count_documents({"user_id": me["user"]["id"]})
    original = Writes.flush

    async def written_then_crash(self):
        await original(self)  # the alert, the event and the outbox rows written, not committed
        raise RuntimeError("before the commit")

    monkeypatch.setattr(Writes, "flush", written_then_crash)
    await tick(api, "106")
    assert await fired(api, user, alert_id) == ("active", 0)
    assert [r for r in await outbox.for_user(me["user"]["id"])
            if r["kind"] == "alert_triggered"] == []
    assert await events.count_documents({"user_id": me["user"]["id"]}) == events_before
    monkeypatch.setattr(Writes, "flush", original)
    await tick(api, "104")
    await tick(api, "106")
    assert await fired(api, user, alert_id) == ("triggered", 1)
    rows = await outbox.for_user(me["user"]["id"])
    assert [(r["kind"], r["channel"], r["_id"]) for r in rows
            if r["kind"] == "alert_triggered"] == [
        ("alert_triggered", "email", f"alert:{alert_id}:1:email")]
