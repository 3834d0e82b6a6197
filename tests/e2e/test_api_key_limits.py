"""API keys and the per-user limits: a user's keys share the user's budget."""

from __future__ import annotations

from dataclasses import replace

from services.api_keys import MAX_KEYS_PER_USER
from tests.e2e.test_api_keys import KEYS, create

LIMIT = 30  # requests a minute per user, and per key


async def test_churning_keys_does_not_lift_a_users_budget_past_its_keys(servers, settings):
    """docs/API.md: each key has its own bucket, so a user may make at most (1 + 10 keys)
    x LIMIT requests a minute. A key's bucket goes with its key_id: revoking a spent key
    and making another starts from zero, for 2 of the login's requests each time."""
    api = await servers.start(replace(settings, limits=replace(settings.limits,
                                                               user_per_minute=LIMIT)))
    login = (await api.account())["access_token"]
    served = 0
    for round_ in range(LIMIT // 2):  # the login's budget: one create and one revoke each
        key = await create(api, login, f"bot {round_}")
        for _ in range(LIMIT):
            served += (await api.call("GET", "/api/v1/me", token=key["token"]))[0] == 200
        assert (await api.call("DELETE", f"{KEYS}/{key['id']}", token=login))[0] == 204
    assert served <= MAX_KEYS_PER_USER * LIMIT, served
