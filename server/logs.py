"""Logging set-up that keeps tokens and passwords out of every log line."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

_REDACTIONS = [
    # JSON Web Tokens: three base64url parts, the first a JSON object.
    (re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+"), "[token]"),
    # key=value or "key": "value" for secret-looking keys.
    (re.compile(r"""(?i)((?:password|token|secret|authorization)[\w]*["']?\s*[:=]\s*["']?)"""
                r"""[^"'\s&,}]+"""), r"\1[redacted]"),
]


def redact(text: str) -> str:
    """Replace anything that looks like a token or password with a marker."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


# Libraries whose debug logs carry whole documents or messages (password hashes,
# reset links): they never log below WARNING, whatever LOG_LEVEL says.
CHATTY_LIBRARIES = ("pymongo", "aiosmtplib", "twilio", "engineio", "socketio")


def quiet_libraries() -> None:
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


# Loggers whose lines are details for whoever debugs, at DEBUG whatever level they were
# logged at: yfinance reports an unreachable Yahoo in several ERROR lines per poll
# (calling the symbols "possibly delisted"), which the feed sums up in one line
# (feeds/outage.py); py.warnings carries the Python warnings that libraries raise about
# their own dependencies (pandas deprecations in yfinance, with site-packages paths).
DEMOTED_LOGGERS = ("yfinance", "peewee", "py.warnings")


class DemoteToDebug(logging.Filter):
    """Pass DEMOTED_LOGGERS' records as DEBUG lines, and only while DEBUG is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(DEMOTED_LOGGERS) or record.levelno <= logging.DEBUG:
            return True
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                 "level": record.levelname, "logger": record.name,
                 "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "text") -> None:
    """Log to stderr with secrets redacted, as text lines or JSON objects."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(DemoteToDebug())
    handler.addFilter(RedactingFilter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.captureWarnings(True)  # to py.warnings, one of DEMOTED_LOGGERS
    quiet_libraries()


class PathAccessLogger(AbstractAccessLogger):
    """The access log (at LOG_LEVEL=DEBUG): each request's path without its query
    string, which may carry a token (the emailed verify and reset links do)."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        self.logger.info('%s "%s %s" %d %.1f ms', request.remote, request.method,
                         request.path, response.status, time * 1000)
