"""trading/ is the pure domain: it must not import I/O libraries or read the clock."""

import ast
from pathlib import Path

import pytest

TRADING = Path(__file__).resolve().parents[2] / "trading"
FORBIDDEN_MODULES = {"aiohttp", "socketio", "engineio", "pymongo", "bson", "motor", "redis",
                     "asyncio", "socket", "requests", "httpx", "yfinance", "websockets",
                     "aiosmtplib", "twilio", "os", "subprocess", "time", "store", "server",
                     "handlers", "feeds", "notifier"}
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic"}


def modules() -> list[Path]:
    return sorted(TRADING.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_trading_module_imports_no_io(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            assert name.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {name}"


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_trading_module_reads_no_clock(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name} calls .{node.func.attr}()"


def test_the_check_sees_the_domain_modules():
    assert len(modules()) >= 2
