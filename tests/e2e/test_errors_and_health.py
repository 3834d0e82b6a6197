"""One error shape everywhere, health probes, restarts, and clean logs."""

import logging
from dataclasses import replace

from aiohttp import web

from server.app import create_app
from server.logs import quiet_libraries
from tests.services import RedisProcess
from tests.support import PASSWORD, Api


async def test_unknown_route_is_json_404(api):
    status, body = await api.call("GET", "/api/v1/nothing-here")
    assert status == 404
    assert body == {"error": {"code": "not_found",
                              "message": "No route for GET /api/v1/nothing-here."}}


async def test_wrong_method_is_json_405(api):
    status, body = await api.call("PUT", "/api/v1/auth/login", {})
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


async def test_malformed_json_is_400_invalid_json(api):
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe", b""):
        status, body = await api.call("POST", "/api/v1/auth/login", data=raw,
                                      headers={"Content-Type": "application/json"})
        assert (status, body["error"]["code"]) == (400, "invalid_json"), raw


async def test_oversized_body_is_413(servers, settings):
    api = await servers.start(replace(settings, max_request_bytes=1024))
    status, body = await api.call("POST", "/api/v1/auth/register",
                                  {"email": "a@example.com", "password": PASSWORD,
                                   "name": "x" * 2000})
    assert (status, body["error"]["code"]) == (413, "payload_too_large")


async def test_unexpected_exception_is_500_with_detail_only_in_the_log(servers, settings, caplog,
                                                                       clock, email):
    app = create_app(settings, clock=clock, email=email)

    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail")

    app.router.add_get("/boom", broken)
    api = await servers.start_app(app)
    with caplog.at_level(logging.ERROR):
        status, body = await api.call("GET", "/boom")
    assert status == 500
    assert body == {"error": {"code": "internal_error", "message": "Internal server error."}}
    [record] = [r for r in caplog.records if r.exc_info]
    assert "secret internal detail" in str(record.exc_info[1])


async def test_healthz_and_readyz_without_redis(api):
    assert await api.call("GET", "/healthz") == (200, {"status": "ok"})
    assert await api.call("GET", "/readyz") == (200, {"status": "ready", "role": "alone",
                                                      "checks": {"database": "ok"}})


async def test_readyz_reports_redis_and_turns_503_when_it_stops(servers, settings, tmp_path):
    redis = RedisProcess(tmp_path)
    try:
        api = await servers.start(replace(settings, redis_url=redis.url))
        status, body = await api.call("GET", "/readyz")
        assert (status, body["checks"]) == (200, {"database": "ok", "redis": "ok"})
        redis.stop()
        status, body = await api.call("GET", "/readyz")
        assert status == 503
        assert body["error"]["code"] == "unavailable"
        assert body["error"]["details"]["checks"] == {"database": "ok", "redis": "down"}
    finally:
        redis.stop()


async def test_logged_out_token_stays_dead_after_a_restart(servers, settings):
    api = await servers.start(settings)
    tokens = await api.account()
    kept = await api.login()
    await api.call("POST", "/api/v1/auth/logout", token=tokens["access_token"])
    await servers.stop(api)

    restarted: Api = await servers.start(settings)
    status, body = await restarted.call("GET", "/api/v1/me", token=tokens["access_token"])
    assert (status, body["error"]["code"]) == (401, "invalid_token")
    assert (await restarted.call("POST", "/api/v1/auth/refresh",
                                 {"refresh_token": tokens["refresh_token"]}))[0] == 401
    assert (await restarted.call("GET", "/api/v1/me", token=kept["access_token"]))[0] == 200


async def test_tokens_and_passwords_never_reach_the_log(api, caplog, email):
    quiet_libraries()  # as configure_logging does at start-up
    with caplog.at_level(logging.DEBUG):
        tokens = await api.account()
        await api.call("POST", "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
        await api.call("POST", "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
        await api.call("POST", "/api/v1/auth/password/forgot", {"email": "ann@example.com"})
        message = await email.wait_for(lambda m: m.kind == "password_reset")
        sock = await api.socket((await api.login())["access_token"])
        await sock.call("join", {"token": "eyJhbGciOi.forged.token"})
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "logged in" in logged  # the flow did log
    secrets = [PASSWORD, tokens["access_token"], tokens["refresh_token"],
               message.text.split("token=")[1].split()[0]]
    for secret in secrets:
        assert secret not in logged
