"""What a client is told of an exception, on every transport (handlers/errors.py)."""

import logging

import redis.exceptions
from pymongo.errors import ExecutionTimeout, NetworkTimeout, OperationFailure

from handlers.errors import error_ack, http_status, to_wire
from trading import errors


def test_a_clients_own_error_goes_as_it_is():
    refused = errors.InvalidInput("no", field="quantity")
    assert to_wire(refused, "x") is refused
    assert http_status(refused) == 400
    assert error_ack(refused) == {"ok": False, "error": refused.to_dict()}


def test_a_dependency_that_does_not_answer_in_time_is_unavailable(caplog):
    for exc in (ExecutionTimeout("operation exceeded time limit", 50), NetworkTimeout("slow"),
                redis.exceptions.ConnectionError("refused")):
        told = to_wire(exc, "POST /api/v1/orders")
        assert (told.code, http_status(told)) == ("unavailable", 503)


def test_anything_else_is_an_internal_error_logged_but_never_quoted(caplog):
    with caplog.at_level(logging.ERROR, logger="handlers.errors"):
        told = to_wire(OperationFailure("secret detail"), "socket event place_order")
    assert (told.code, http_status(told)) == ("internal_error", 500)
    assert "secret detail" not in told.message
    assert any("socket event place_order" in r.getMessage() for r in caplog.records)
