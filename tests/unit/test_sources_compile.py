"""Every Python file of the project compiles on the interpreter the suite runs on (Python 3.11 is supported:
an f-string that only 3.12 parses once broke the whole bench)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(
    path for folder in ("bucketsync", "bench", "tests", "scripts", "deploy") if (ROOT / folder).exists()
    for path in (ROOT / folder).rglob("*.py")
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: str(path.relative_to(ROOT)))
def test_compiles(path: Path) -> None:
    compile(path.read_text(encoding="utf-8"), str(path), "exec")
