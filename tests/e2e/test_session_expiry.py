"""A session whose expiry has passed ends its tokens at once, whether or not the
database's TTL monitor (up to a minute behind) has deleted it yet."""

from datetime import UTC, datetime, timedelta

from handlers import keys


async def test_an_access_token_of_an_expired_session_is_refused(api):
    tokens = await api.account()
    sessions = api.app[keys.STORE].db["sessions"]
    # Expired by the wall clock (access checks) and by the app's clock (refresh), which in
    # tests stands where the fixture set it.
    past = min(datetime.now(UTC), api.app[keys.CLOCK]()) - timedelta(seconds=1)
    assert (await sessions.update_many({}, {"$set": {"expires_at": past}})).modified_count == 1
    status, body = await api.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (401, "invalid_token")
    status, body = await api.call("POST", "/api/v1/auth/refresh",
                                  {"refresh_token": tokens["refresh_token"]})
    assert (status, body["error"]["code"]) == (401, "invalid_token")


async def test_missed_events_are_served_as_plain_json(api):
    tokens = await api.account()
    store = api.app[keys.STORE]
    user_id = tokens["user"]["id"]
    data = {"note": "Zürich 東京 $x a.b", "fired": 2**62, "nested": {"list": [1, [2, None]]}}
    await store.events.append_group([(user_id, [("alert_triggered", data)], 1)],
                                    datetime.now(UTC))
    status, body = await api.call("GET", "/api/v1/events?after=0",
                                  token=tokens["access_token"])
    assert status == 200
    assert body["events"] == [{"seq": 1, "type": "alert_triggered", **data}]
