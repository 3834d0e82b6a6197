"""Serve PaperDesk: `python run.py` (see README for the settings)."""

import sys

from aiohttp import web
from dotenv import load_dotenv

from server.app import create_app
from server.config import ConfigError, Settings
from server.logs import configure_logging
from store.database import DatabaseUnavailable
from store.embedded import EmbeddedDatabaseError


def main() -> int:
    load_dotenv()
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        web.run_app(create_app(settings), host=settings.host, port=settings.port,
                    access_log=None if settings.log_level != "DEBUG" else web.access_logger)
    except (ConfigError, EmbeddedDatabaseError, DatabaseUnavailable) as error:
        print(f"paperdesk: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
