"""Serve PaperDesk: `python run.py` (see README for the settings)."""

import sys

import uvloop
from aiohttp import web
from dotenv import load_dotenv

from config.settings import ConfigError, Settings
from server.app import create_app, serve
from server.logs import configure_logging
from store.database import DatabaseUnavailable
from store.embedded import EmbeddedDatabaseError


def main() -> int:
    load_dotenv()
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_level, settings.log_format)
        # Like web.run_app, with connections that answer malformed requests in JSON,
        # on uvloop's event loop (libuv: less CPU per socket read and write).
        uvloop.run(serve(create_app(settings), settings.host, settings.port,
                          access_log=web.access_logger if settings.log_level == "DEBUG"
                          else None))
    except (ConfigError, EmbeddedDatabaseError, DatabaseUnavailable) as error:
        print(f"paperdesk: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
