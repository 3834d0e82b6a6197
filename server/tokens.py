"""JWT access and refresh tokens (HS256, algorithm pinned on decode)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import jwt

from trading.errors import InvalidToken, TokenExpired

TokenType = Literal["access", "refresh"]
ALGORITHM = "HS256"
ISSUER = "paperdesk"
REQUIRED_CLAIMS = ["sub", "sid", "jti", "typ", "iat", "exp", "iss"]


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
        """Verify signature, expiry and type; raise TokenExpired or InvalidToken."""
        try:
            payload = jwt.decode(token, self.secret, algorithms=[ALGORITHM], issuer=ISSUER,
                                 options={"require": REQUIRED_CLAIMS})
        except jwt.ExpiredSignatureError:
            raise TokenExpired() from None
        except jwt.InvalidTokenError:
            raise InvalidToken() from None
        if payload["typ"] != expected:
            raise InvalidToken(f"Expected an {expected} token.")
        fields = (payload["sub"], payload["sid"], payload["jti"])
        if not all(isinstance(value, str) and value for value in fields):
            raise InvalidToken()
        return Claims(user_id=payload["sub"], session_id=payload["sid"],
                      jti=payload["jti"], typ=expected)
