"""JWT access and refresh tokens (HS256, algorithm pinned on decode)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt

from trading.errors import InvalidToken, TokenExpired

TokenType = Literal["access", "refresh"]
ALGORITHM = "HS256"
ISSUER = "paperdesk"
REQUIRED_CLAIMS = ["sub", "sid", "jti", "typ", "iat", "exp", "iss"]
_NAMES: dict[TokenType, str] = {"access": "an access token", "refresh": "a refresh token"}


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: str
    session_id: str
    jti: str
    typ: TokenType


@dataclass(frozen=True, slots=True)
class TokenCodec:
    secret: str
    access_ttl: timedelta
    refresh_ttl: timedelta

    def ttl(self, typ: TokenType) -> timedelta:
        return self.access_ttl if typ == "access" else self.refresh_ttl

    def encode(self, claims: Claims, now: datetime) -> str:
        """Sign a token that is valid from now for its type's lifetime."""
        payload = {
            "sub": claims.user_id, "sid": claims.session_id, "jti": claims.jti,
            "typ": claims.typ, "iss": ISSUER,
            "iat": int(now.timestamp()), "exp": int((now + self.ttl(claims.typ)).timestamp()),
        }
        return jwt.encode(payload, self.secret, algorithm=ALGORITHM)

    def decode(self, token: str, expected: TokenType) -> Claims:
        """Verify signature, expiry and type; raise TokenExpired or InvalidToken.

        Only an expired access token is TokenExpired (token_expired tells a client to
        refresh); an expired refresh token is InvalidToken like any other bad one (the
        client must log in again).
        """
        return self.verify(token, expected)[0]

    def verify(self, token: str, expected: TokenType) -> tuple[Claims, int]:
        """decode, also returning the expiry (epoch seconds)."""
        try:
            payload = jwt.decode(token, self.secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                 options={"require": REQUIRED_CLAIMS})
        except jwt.ExpiredSignatureError:
            if expected == "access":
                raise TokenExpired() from None
            raise InvalidToken("The refresh token has expired; log in again.") from None
        except jwt.InvalidTokenError:
            raise InvalidToken() from None
        if payload["typ"] != expected:
            raise InvalidToken(f"Expected {_NAMES[expected]}.")
        fields = (payload["sub"], payload["sid"], payload["jti"])
        if not all(isinstance(value, str) and value for value in fields):
            raise InvalidToken()
        return Claims(user_id=payload["sub"], session_id=payload["sid"],
                      jti=payload["jti"], typ=expected), int(payload["exp"])


class VerifiedTokens:
    """Access tokens whose signature was already checked, until they expire.

    A client sends the same access token with every request for 15 minutes;
    checking its HMAC and claims each time costs about 100 µs. The cache is keyed
    by the whole token, signature included, so only a byte-identical copy of a
    verified token hits it. Expiry is checked on every hit, against the same
    wall clock PyJWT uses. Session revocation is checked separately, every time.
    """

    def __init__(self, codec: TokenCodec, size: int = 10_000) -> None:
        self.codec, self.size = codec, size
        self._seen: dict[str, tuple[Claims, int]] = {}

    def access(self, token: str) -> Claims:
        hit = self._seen.get(token)
        if hit is not None and time.time() < hit[1]:
            return hit[0]
        self._seen.pop(token, None)
        claims, expires = self.codec.verify(token, "access")
        if len(self._seen) >= self.size:
            del self._seen[next(iter(self._seen))]  # the oldest entry
        self._seen[token] = (claims, expires)
        return claims
