"""Lists come a page at a time (limit, default 100, at most 500) with an opaque cursor to
the next page: nothing is cut off silently."""

from datetime import timedelta

import pytest

from handlers import keys
from services.auth import new_id
from tests.e2e.trading_support import order, set_price


@pytest.fixture
async def user(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens


async def every_page(api, token, path, key, limit=None):
    """Follow next_cursor to the end; return the pages' items, page by page."""
    pages, cursor = [], None
    while True:
        params = {} if limit is None else {"limit": str(limit)}
        if cursor is not None:
            params["cursor"] = cursor
        status, body = await api.call("GET", path, token=token, params=params)
        assert status == 200, body
        pages.append(body[key])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100


def stored_alert(user_id, n, now):
    return {"_id": new_id(), "user_id": user_id, "symbol": "AAPL", "condition": "above",
            "price": (200 + n) * 10**8, "direction": "above", "note": None,
            "channels": ["in_app"], "repeat": False, "cooldown": 60, "status": "active",
            "fired": 0, "armed_at": None, "triggered_at": None, "triggered_price": None,
            "created_at": now, "updated_at": now}


async def test_more_than_500_alerts_are_all_listed_page_by_page(api, user, clock):
    user_id, token = user["user"]["id"], user["access_token"]
    now = clock()
    await api.app[keys.STORE].db["alerts"].insert_many(
        [stored_alert(user_id, n, now + timedelta(milliseconds=n)) for n in range(501)])
    pages = await every_page(api, token, "/api/v1/alerts", "alerts")
    assert [len(page) for page in pages] == [100] * 5 + [1]
    ids = [alert["id"] for page in pages for alert in page]
    assert len(set(ids)) == 501 and ids == sorted(ids, reverse=True)  # newest first
    pages = await every_page(api, token, "/api/v1/alerts?status=active", "alerts", limit=500)
    assert [len(page) for page in pages] == [500, 1]


async def test_alert_pages_over_rest_and_a_socket(api, user):
    token = user["access_token"]
    created = []
    for n in range(5):
        _, body = await api.call("POST", "/api/v1/alerts", {
            "symbol": "AAPL", "condition": "above", "price": str(101 + n)}, token=token)
        created.append(body["alert"]["id"])
    pages = await every_page(api, token, "/api/v1/alerts", "alerts", limit=2)
    assert [[a["id"] for a in page] for page in pages] == [
        created[4:2:-1], created[2:0:-1], created[:1]]
    _, exact = await api.call("GET", "/api/v1/alerts?limit=5", token=token)
    assert (len(exact["alerts"]), exact["next_cursor"]) == (5, None)
    sock = await api.socket(token)
    first = await sock.call("list_alerts", {"limit": 3})
    assert [a["id"] for a in first["alerts"]] == created[4:1:-1]
    rest = await sock.call("list_alerts", {"limit": 3, "cursor": first["next_cursor"]})
    assert ([a["id"] for a in rest["alerts"]], rest["next_cursor"]) == (created[1::-1], None)
    everything = await sock.call("list_alerts")
    assert (len(everything["alerts"]), everything["next_cursor"]) == (5, None)
    for bad in ({"limit": 0}, {"limit": 501}, {"limit": "x"}, {"limit": True},
                {"limit": "9" * 5000}, {"limit": 10**30}, {"limit": [[[]]]},
                {"cursor": "nope!"}, {"cursor": 7}):
        answer = await sock.call("list_alerts", bad)
        assert (answer["error"]["code"], answer["error"]["details"]["field"]) == (
            "validation_error", next(iter(bad)))


async def test_trade_pages(api, user):
    token = user["access_token"]
    for _ in range(3):
        await order(api, token, quantity="1")
    _, everything = await api.call("GET", "/api/v1/trades", token=token)
    assert (len(everything["trades"]), everything["next_cursor"]) == (3, None)
    pages = await every_page(api, token, "/api/v1/trades?status=open&symbol=AAPL", "trades",
                             limit=2)
    assert [[t["id"] for t in page] for page in pages] == [
        [t["id"] for t in everything["trades"][:2]], [everything["trades"][2]["id"]]]


async def test_order_pages_by_cursor_and_by_the_last_id(api, user):
    token = user["access_token"]
    for price in ("91", "92", "93"):
        await order(api, token, type="limit", limit_price=price, quantity="1")
    pages = await every_page(api, token, "/api/v1/orders?status=open", "orders", limit=2)
    assert [[o["limit_price"] for o in page] for page in pages] == [["93", "92"], ["91"]]
    _, first = await api.call("GET", "/api/v1/orders?limit=2", token=token)
    _, rest = await api.call("GET", f"/api/v1/orders?after={first['orders'][-1]['id']}",
                             token=token)
    assert ([o["limit_price"] for o in rest["orders"]], rest["next_cursor"]) == (["91"], None)


async def test_notification_pages(api, user):
    token = user["access_token"]
    worker = api.app[keys.OUTBOX]
    for n in range(3):
        await worker.request(user["user"]["id"], "notice", f"notice:{n}", ["in_app"],
                             {"event": f"Note {n}", "message": "m"})
    await worker.quiet()
    pages = await every_page(api, token, "/api/v1/notifications", "notifications", limit=2)
    assert [[n["title"] for n in page] for page in pages] == [["Note 2", "Note 1"], ["Note 0"]]


@pytest.mark.parametrize("path", ["/api/v1/alerts", "/api/v1/trades", "/api/v1/orders",
                                  "/api/v1/notifications"])
@pytest.mark.parametrize(("query", "field"), [
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"), ("limit=-1", "limit"),
    ("limit=" + "9" * 5000, "limit"), ("limit=%D9%A1%D9%A0", "limit"), ("limit=1e2", "limit"),
    ("cursor=%25%25", "cursor"), ("cursor=bm90LWEtY3Vyc29y", "cursor"), ("cursor=", "cursor"),
    ("cursor=" + "A" * 5000, "cursor"), ("cursor=%F0%9F%98%80", "cursor")])
async def test_a_bad_limit_or_cursor_is_400_naming_it(api, user, path, query, field):
    status, body = await api.call("GET", f"{path}?{query}", token=user["access_token"])
    assert (status, body["error"]["code"], body["error"]["details"]["field"]) == (
        400, "validation_error", field)
    assert "500" in body["error"]["message"] if field == "limit" else True


async def test_a_cursor_of_another_list_is_400(api, user):
    token = user["access_token"]
    for price in ("91", "92"):
        await order(api, token, type="limit", limit_price=price, quantity="1")
    _, orders = await api.call("GET", "/api/v1/orders?limit=1", token=token)
    status, body = await api.call("GET", "/api/v1/alerts",
                                  params={"cursor": orders["next_cursor"]}, token=token)
    assert (status, body["error"]["details"]["field"]) == (400, "cursor")
