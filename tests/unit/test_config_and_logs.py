import logging
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.settings import ConfigError, Settings, resolve_jwt_secret
from feeds.service import Market
from server.logs import redact


def test_defaults_with_an_empty_environment():
    settings = Settings.from_env({})
    assert settings.port == 8000
    assert settings.embedded
    assert settings.access_token_ttl == timedelta(minutes=15)
    assert settings.refresh_token_ttl == timedelta(days=30)
    assert settings.bcrypt_cost == 12
    assert settings.cors_origins == ()


def test_environment_values_are_parsed():
    settings = Settings.from_env({
        "PORT": "9000", "MONGO_URI": "mongodb://db:27017/", "JWT_SECRET": "k" * 32,
        "ACCESS_TOKEN_TTL": "60", "BCRYPT_COST": "10",
        "CORS_ORIGINS": "https://a.example, https://b.example", "PUBLIC_URL": "https://x.io/"})
    assert (settings.port, settings.embedded, settings.bcrypt_cost) == (9000, False, 10)
    assert settings.access_token_ttl == timedelta(seconds=60)
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    assert settings.public_url == "https://x.io"


@pytest.mark.parametrize(("env", "message"), [
    ({"JWT_SECRET": "short"}, "at least 32 bytes"),
    ({"PORT": "eighty"}, "PORT must be a whole number"),
    ({"ACCESS_TOKEN_TTL": "0"}, "positive"),
    ({"BCRYPT_COST": "3"}, "BCRYPT_COST"),
    ({"INITIAL_CASH": "100000000000"}, "INITIAL_CASH: .* too large"),
    ({"INITIAL_CASH": "0.000000001"}, "INITIAL_CASH"),
    ({"LONG_MARGIN_RATE": "0"}, "LONG_MARGIN_RATE"),
])
def test_bad_values_are_refused_with_one_clear_line(env, message):
    with pytest.raises(ConfigError, match=message) as caught:
        Settings.from_env(env)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("symbols", ["x", "nasdaq:AAPL", "sim:AAPL;binance:aapl"])
def test_a_bad_symbol_universe_is_refused_when_the_app_is_built(symbols):
    settings = Settings.from_env({"MARKET_SYMBOLS": symbols})
    with pytest.raises(ConfigError, match="MARKET_SYMBOLS"):
        Market(settings.market, lambda: datetime.now(UTC))


def test_secrets_are_not_in_the_settings_repr():
    settings = Settings(jwt_secret="k" * 40, mongo_uri="mongodb://user:pw@db/")
    assert "k" * 40 not in repr(settings)
    assert "pw@" not in repr(settings)


def test_embedded_secret_is_generated_once_and_kept(tmp_path: Path):
    settings = Settings(data_dir=tmp_path)
    first = resolve_jwt_secret(settings)
    assert len(first) >= 32
    assert resolve_jwt_secret(settings) == first
    assert stat.S_IMODE((tmp_path / "jwt_secret").stat().st_mode) == 0o600


def test_short_kept_secret_is_refused(tmp_path: Path):
    (tmp_path / "jwt_secret").write_text("short\n")
    with pytest.raises(ConfigError, match="shorter than 32 bytes"):
        resolve_jwt_secret(Settings(data_dir=tmp_path))


def test_external_database_needs_an_explicit_secret(tmp_path: Path):
    with pytest.raises(ConfigError, match="JWT_SECRET must be set"):
        resolve_jwt_secret(Settings(data_dir=tmp_path, mongo_uri="mongodb://db/"))


def test_redact_hides_tokens_and_password_values():
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    line = f'login {{"password": "hunter22", "refresh_token": "abc"}} Bearer {token} ?token=xyz'
    cleaned = redact(line)
    for secret in ("hunter22", token, "abc", "xyz"):
        assert secret not in cleaned
    assert redact("user 42 logged in") == "user 42 logged in"


def test_every_setting_read_from_the_environment_is_documented_in_env_example():
    import re

    from config.settings import PROJECT_ROOT
    source = "".join((PROJECT_ROOT / "config" / name).read_text()
                     for name in ("settings.py", "intel.py"))
    read = set(re.findall(r'reader\.\w+\(\s*"([A-Z0-9_]+)"', source))
    documented = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", (PROJECT_ROOT / ".env.example")
                                .read_text(), re.MULTILINE))
    assert len(read) > 30
    assert read - documented == set()


def test_json_logs_are_one_object_per_line_with_secrets_redacted():
    import json
    import logging

    from server.logs import JsonFormatter, RedactingFilter
    record = logging.LogRecord("services.auth", logging.WARNING, __file__, 1,
                               "login with password=%s", ("hunter2",), None)
    RedactingFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["level"] == "WARNING" and entry["logger"] == "services.auth"
    assert entry["message"] == "login with password=[redacted]"
    assert entry["time"].endswith("+00:00")


def test_log_format_must_be_text_or_json():
    import pytest

    from config.settings import ConfigError, Settings
    with pytest.raises(ConfigError):
        Settings(log_format="xml")


@pytest.mark.parametrize("root_level", ["INFO", "DEBUG"])
def test_yfinance_and_python_warnings_log_at_debug_only(root_level):
    import logging

    from server.logs import DemoteToDebug

    def record(name: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, "$MSFT: possibly delisted", None,
                                 None)

    root = logging.getLogger()
    before = root.level
    root.setLevel(root_level)
    try:
        demote = DemoteToDebug()
        records = [record("yfinance", logging.ERROR), record("py.warnings", logging.WARNING)]
        passed = [r for r in records if demote.filter(r)]
        ours = record("feeds.yahoo", logging.WARNING)
        assert demote.filter(ours) and ours.levelname == "WARNING"
    finally:
        root.setLevel(before)
    if root_level == "DEBUG":
        assert [(r.name, r.levelname) for r in passed] == [("yfinance", "DEBUG"),
                                                          ("py.warnings", "DEBUG")]
    else:
        assert passed == []


def test_the_access_log_tells_paths_without_their_query_strings(caplog):
    from aiohttp.test_utils import make_mocked_request
    from aiohttp.web import Response

    from server.logs import PathAccessLogger

    logger = logging.getLogger("aiohttp.access")
    caplog.set_level(logging.INFO, logger="aiohttp.access")
    request = make_mocked_request("GET", "/reset-password?token=s3cr3t-link-token")
    PathAccessLogger(logger, "").log(request, Response(status=200), 0.0123)
    assert '"GET /reset-password" 200 12.3 ms' in caplog.text
    assert "s3cr3t" not in caplog.text
