"""Settings: one frozen object read from the environment once, at start-up."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

MIN_SECRET_BYTES = 32
PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(Exception):
    """The configuration cannot work; the message is one line for the operator."""


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    # None: start the embedded FerretDB under data_dir.
    mongo_uri: str | None = field(default=None, repr=False)
    mongo_db: str = "paperdesk"
    data_dir: Path = Path("data")
    ferretdb_bin: Path = PROJECT_ROOT / ".tools" / "bin" / "ferretdb"
    redis_url: str | None = field(default=None, repr=False)
    # None: embedded mode generates one and keeps it in data_dir.
    jwt_secret: str | None = field(default=None, repr=False)
    access_token_ttl: timedelta = timedelta(minutes=15)
    refresh_token_ttl: timedelta = timedelta(days=30)
    password_reset_ttl: timedelta = timedelta(minutes=30)
    bcrypt_cost: int = 12
    # Empty: same-origin only.
    cors_origins: tuple[str, ...] = ()
    socket_max_message_bytes: int = 64 * 1024
    max_request_bytes: int = 1024 * 1024
    public_url: str = "http://localhost:8000"
    log_level: str = "INFO"

    def __post_init__(self) -> None:
        if self.jwt_secret is not None and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes long.")
        if not 4 <= self.bcrypt_cost <= 31:
            raise ConfigError("BCRYPT_COST must be between 4 and 31.")
        if not 0 <= self.port <= 65535:
            raise ConfigError("PORT must be between 0 and 65535.")

    @property
    def embedded(self) -> bool:
        """Whether the server runs its own FerretDB."""
        return self.mongo_uri is None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read settings from environment variables (see .env.example)."""
        env = os.environ if env is None else env
        reader, default = _Reader(env), cls()
        return cls(
            host=reader.text("HOST", default.host),
            port=reader.integer("PORT", default.port),
            mongo_uri=reader.optional("MONGO_URI"),
            mongo_db=reader.text("MONGO_DB", default.mongo_db),
            data_dir=Path(reader.text("DATA_DIR", str(default.data_dir))),
            ferretdb_bin=Path(reader.text("FERRETDB_BIN", str(default.ferretdb_bin))),
            redis_url=reader.optional("REDIS_URL"),
            jwt_secret=reader.optional("JWT_SECRET"),
            access_token_ttl=reader.seconds("ACCESS_TOKEN_TTL", default.access_token_ttl),
            refresh_token_ttl=reader.seconds("REFRESH_TOKEN_TTL", default.refresh_token_ttl),
            password_reset_ttl=reader.seconds("PASSWORD_RESET_TTL", default.password_reset_ttl),
            bcrypt_cost=reader.integer("BCRYPT_COST", default.bcrypt_cost),
            cors_origins=reader.words("CORS_ORIGINS"),
            socket_max_message_bytes=reader.integer(
                "SOCKET_MAX_MESSAGE_BYTES", default.socket_max_message_bytes),
            max_request_bytes=reader.integer("MAX_REQUEST_BYTES", default.max_request_bytes),
            public_url=reader.text("PUBLIC_URL", default.public_url).rstrip("/"),
            log_level=reader.text("LOG_LEVEL", default.log_level).upper(),
        )


@dataclass(frozen=True, slots=True)
class _Reader:
    env: Mapping[str, str]

    def optional(self, name: str) -> str | None:
        value = self.env.get(name, "").strip()
        return value or None

    def text(self, name: str, default: str) -> str:
        return self.optional(name) or default

    def integer(self, name: str, default: int) -> int:
        value = self.optional(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, not {value!r}.") from None

    def seconds(self, name: str, default: timedelta) -> timedelta:
        value = self.integer(name, int(default.total_seconds()))
        if value <= 0:
            raise ConfigError(f"{name} must be a positive number of seconds.")
        return timedelta(seconds=value)

    def words(self, name: str) -> tuple[str, ...]:
        value = self.optional(name) or ""
        return tuple(word.strip() for word in value.split(",") if word.strip())


def resolve_jwt_secret(settings: Settings) -> str:
    """Return JWT_SECRET, or in embedded mode the one kept in the data folder.

    The generated secret is created once (mode 0600) so tokens survive restarts.
    """
    if settings.jwt_secret is not None:
        return settings.jwt_secret
    if not settings.embedded:
        raise ConfigError("JWT_SECRET must be set when MONGO_URI is set.")
    path = settings.data_dir / "jwt_secret"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = path.read_text().strip()
    else:
        secret = secrets.token_hex(32)
        with os.fdopen(fd, "w") as file:
            file.write(secret + "\n")
    if len(secret.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(f"{path} holds a secret shorter than {MIN_SECRET_BYTES} bytes.")
    return secret
