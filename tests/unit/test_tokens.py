from datetime import UTC, datetime, timedelta

import jwt
import pytest

from services.tokens import Claims, TokenCodec
from trading.errors import InvalidToken, TokenExpired

SECRET = "s" * 64  # long enough for HS512, so only the algorithm differs
codec = TokenCodec(SECRET, timedelta(minutes=15), timedelta(days=30))
claims = Claims(user_id="u1", session_id="s1", jti="j1", typ="access")


def test_round_trip_keeps_the_claims():
    token = codec.encode(claims, datetime.now(UTC))
    assert codec.decode(token, "access") == claims


def test_token_carries_standard_claims_with_configured_lifetime():
    now = datetime.now(UTC)
    payload = jwt.decode(codec.encode(claims, now), SECRET, algorithms=["HS256"],
                         issuer="paperdesk")
    assert payload["exp"] - payload["iat"] == 15 * 60
    assert {"sub", "sid", "jti", "typ", "iat", "exp", "iss"} <= set(payload)


def test_expired_token_raises_token_expired():
    token = codec.encode(claims, datetime.now(UTC) - timedelta(minutes=16))
    with pytest.raises(TokenExpired):
        codec.decode(token, "access")


def test_wrong_type_is_invalid():
    token = codec.encode(claims, datetime.now(UTC))
    with pytest.raises(InvalidToken):
        codec.decode(token, "refresh")


def test_wrong_type_says_which_type_was_expected_in_good_english():
    access = codec.encode(claims, datetime.now(UTC))
    refresh = codec.encode(Claims("u1", "s1", "j2", "refresh"), datetime.now(UTC))
    with pytest.raises(InvalidToken) as refused:
        codec.decode(access, "refresh")
    assert refused.value.message == "Expected a refresh token."
    with pytest.raises(InvalidToken) as refused:
        codec.decode(refresh, "access")
    assert refused.value.message == "Expected an access token."


def test_an_expired_refresh_token_is_invalid_not_expired():
    """token_expired means "refresh"; for a refresh token that would loop."""
    refresh = Claims("u1", "s1", "j2", "refresh")
    token = codec.encode(refresh, datetime.now(UTC) - timedelta(days=31))
    with pytest.raises(InvalidToken) as refused:
        codec.decode(token, "refresh")
    assert refused.value.code == "invalid_token"
    # An expired access token sent to refresh is as invalid; as an access token, expired.
    expired_access = codec.encode(claims, datetime.now(UTC) - timedelta(minutes=16))
    with pytest.raises(InvalidToken):
        codec.decode(expired_access, "refresh")
    with pytest.raises(TokenExpired):
        codec.decode(expired_access, "access")


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_algorithms_are_refused_even_with_the_right_key(algorithm):
    payload = {"sub": "u1", "sid": "s1", "jti": "j1", "typ": "access", "iss": "paperdesk",
               "iat": int(datetime.now(UTC).timestamp()), "exp": 4_000_000_000}
    with pytest.raises(InvalidToken):
        codec.decode(jwt.encode(payload, SECRET, algorithm=algorithm), "access")


def test_unsigned_and_claimless_tokens_are_refused():
    with pytest.raises(InvalidToken):
        codec.decode(jwt.encode({"sub": "u1"}, None, algorithm="none"), "access")
    with pytest.raises(InvalidToken):
        codec.decode(jwt.encode({"sub": "u1", "exp": 4_000_000_000}, SECRET), "access")


def test_verified_tokens_answer_repeats_from_memory_until_they_expire(monkeypatch):
    from services import tokens
    cache = tokens.VerifiedTokens(codec, size=2)
    token = codec.encode(claims, datetime.now(UTC))
    assert cache.access(token) == claims
    # A hit does not verify again; a token with another signature is verified (and refused).
    calls = []
    real = tokens.TokenCodec.verify
    monkeypatch.setattr(tokens.TokenCodec, "verify",
                        lambda self, t, e: calls.append(t) or real(self, t, e))
    assert cache.access(token) == claims
    assert calls == []
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    with pytest.raises(InvalidToken):
        cache.access(forged)
    # Past its expiry the cached token is refused like any other: move both clocks on.
    later = datetime.now(UTC) + timedelta(minutes=16)

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return later

    monkeypatch.setattr(tokens.time, "time", later.timestamp)
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)
    with pytest.raises(TokenExpired):
        cache.access(token)


def test_verified_tokens_keep_at_most_size_entries():
    from services.tokens import VerifiedTokens
    cache = VerifiedTokens(codec, size=2)
    now = datetime.now(UTC)
    issued = [codec.encode(Claims("u", "s", f"j{n}", "access"), now) for n in range(3)]
    for token in issued:
        cache.access(token)
    assert list(cache._seen) == issued[1:]
