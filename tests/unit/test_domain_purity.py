"""trading/ is the pure domain: it reads no clock (its imports are import-linter's contracts
in pyproject.toml, run by `make check`)."""

import ast
from pathlib import Path

import pytest

TRADING = Path(__file__).resolve().parents[2] / "trading"
CLOCK_CALLS = {"now", "utcnow", "today", "time", "monotonic"}


def modules() -> list[Path]:
    return sorted(TRADING.rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_trading_module_reads_no_clock(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            assert node.func.attr not in CLOCK_CALLS, f"{path.name} calls .{node.func.attr}()"


def test_the_check_sees_the_domain_modules():
    assert len(modules()) >= 2
