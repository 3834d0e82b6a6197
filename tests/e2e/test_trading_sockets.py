"""Trading commands over Socket.IO: acks with the REST codes, and numbered events."""

import asyncio

from tests.e2e.trading_support import assert_books_balance, set_price


async def connected(api):
    tokens = await api.account()
    set_price(api, "AAPL", "100")
    return tokens, await api.socket(tokens["access_token"])


async def test_place_order_over_a_socket_acks_the_order_and_emits_events(api):
    _, sock = await connected(api)
    ack = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "2",
                                          "stop_loss": "90"})
    assert ack["ok"] is True
    assert (ack["order"]["status"], ack["order"]["filled_price"]) == ("filled", "100")
    order_event = await sock.next("order_update")
    position_event = await sock.next("position_update")
    trade_event = await sock.next("trade_update")
    account_event = await sock.next("account_update")
    assert order_event["order"]["id"] == ack["order"]["id"]
    assert (position_event["position"]["quantity"], position_event["trades_closed"]) == ("2", 0)
    assert (trade_event["event"], trade_event["trade"]["stop_loss"]) == ("opened", "90")
    assert account_event["account"]["margin_used"] == "200"
    assert [order_event["seq"], position_event["seq"], trade_event["seq"],
            account_event["seq"]] == [1, 2, 3, 4]


async def test_socket_errors_use_the_same_codes_as_rest(api):
    _, sock = await connected(api)
    for payload, code in [({"symbol": "AAPL", "side": "buy", "quantity": "5000"},
                           "insufficient_funds"),
                          ({"symbol": "NOPE", "side": "buy", "quantity": "1"}, "unknown_symbol"),
                          ({"symbol": "AAPL", "side": "buy", "quantity": "-1"}, "invalid_quantity"),
                          ({"symbol": "AAPL", "side": "buy", "quantity": "1", "type": "stop",
                            "stop_price": "99"}, "stop_price_crossed"),
                          ("not an object", "validation_error")]:
        ack = await sock.call("place_order", payload)
        assert (ack["ok"], ack["error"]["code"]) == (False, code), payload
    for event, payload, code in [("cancel_order", {"order_id": "nope"}, "not_found"),
                                 ("exit_trade", {"trade_id": "nope"}, "not_found"),
                                 ("modify_trade", {"trade_id": "nope", "stop_loss": "1"},
                                  "not_found"),
                                 ("cancel_order", {}, "validation_error")]:
        ack = await sock.call(event, payload)
        assert ack["error"]["code"] == code, event
    resting = await sock.call("place_order", {"symbol": "AAPL", "side": "sell", "quantity": "1",
                                              "type": "stop", "stop_price": "95"})
    ack = await sock.call("replace_order", {"order_id": resting["order"]["id"],
                                            "stop_price": "100"})
    assert (ack["ok"], ack["error"]["code"]) == (False, "stop_price_crossed")
    assert ack["error"]["details"]["price"] == "100"
    await assert_books_balance(api)


async def test_the_other_trade_commands_work_over_a_socket(api):
    _, sock = await connected(api)
    placed = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "3"})
    trade_id = placed["order"]["trade_id"]
    modified = await sock.call("modify_trade", {"trade_id": trade_id, "target_price": "130"})
    assert modified["trade"]["target_price"] == "130"
    resting = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1",
                                              "type": "limit", "limit_price": "80"})
    canceled = await sock.call("cancel_order", {"order_id": resting["order"]["id"]})
    assert canceled["order"]["status"] == "canceled"
    reduced = await sock.call("exit_trade", {"trade_id": trade_id, "quantity": "1"})
    assert reduced["trade"]["quantity"] == "2"
    closed = await sock.call("exit_all")
    assert [t["status"] for t in closed["trades"]] == ["closed"]
    summary = await sock.call("get_account")
    assert summary["account"]["margin_used"] == "0"
    await assert_books_balance(api)


async def test_a_reconnecting_client_fetches_what_it_missed(api):
    tokens, sock = await connected(api)
    token = tokens["access_token"]
    await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})
    last_seen = (await sock.next("account_update"))["seq"]
    await sock.close()
    # While disconnected:
    await api.call("POST", "/api/v1/orders", {"symbol": "AAPL", "side": "sell",
                                              "quantity": "1"}, token=token)
    status, body = await api.call("GET", f"/api/v1/events?after={last_seen}", token=token)
    assert status == 200
    # The sell closes the long (a net position): its lot goes with one position_update.
    assert [(e["seq"], e["type"]) for e in body["events"]] == [
        (5, "order_update"), (6, "position_update"), (7, "account_update")]
    assert body["events"][1]["position"] is None  # flat
    assert body["events"][0]["order"]["side"] == "sell"
    bob = await api.account(email="bob@example.com", name="Bob")
    _, theirs = await api.call("GET", "/api/v1/events", token=bob["access_token"])
    assert theirs["events"] == []


async def test_the_account_names_the_latest_event_so_a_fresh_client_knows_where_to_resume(api):
    tokens, sock = await connected(api)
    token = tokens["access_token"]
    _, before = await api.call("GET", "/api/v1/account", token=token)
    assert before["account"]["seq"] == 0
    await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})
    last = (await sock.next("account_update"))["seq"]
    _, after = await api.call("GET", "/api/v1/account", token=token)
    assert after["account"]["seq"] == last == 4
    _, missed = await api.call("GET", f"/api/v1/events?after={last}", token=token)
    assert missed["events"] == []


async def test_every_socket_of_a_user_gets_each_event_once_in_order_and_before_its_ack(api):
    tokens, sock = await connected(api)
    other = await api.socket(tokens["access_token"])
    seen_before_ack: list[bool] = []

    async def place() -> dict:
        ack = await sock.call("place_order", {"symbol": "AAPL", "side": "buy", "quantity": "1"})
        seen_before_ack.append(any(
            name == "order_update" and data["order"]["id"] == ack["order"]["id"]
            for name, data in sock.received))
        return ack

    acks = await asyncio.gather(*(place() for _ in range(12)))  # filled in a few groups
    assert all(ack["ok"] for ack in acks)
    assert seen_before_ack == [True] * 12
    _, body = await api.call("GET", "/api/v1/account", token=tokens["access_token"])
    last = body["account"]["seq"]
    assert last >= 12 * 2 + 1
    for client in (sock, other):
        while (await client.next("account_update"))["seq"] != last:
            pass
        numbered = [data["seq"] for _, data in client.received
                    if isinstance(data, dict) and "seq" in data]
        assert numbered == list(range(1, last + 1))
