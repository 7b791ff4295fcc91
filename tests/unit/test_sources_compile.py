"""Every Python file of the project compiles on the interpreter the suite runs on (Python 3.11 is supported:
an f-string that only 3.12 parses once broke the whole bench). One test for all files: each failure is named."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("bucketsync", "bench", "tests", "scripts", "deploy")


def test_every_source_file_compiles() -> None:
    sources = sorted(path for folder in FOLDERS if (ROOT / folder).exists() for path in (ROOT / folder).rglob("*.py"))
    assert len(sources) > 100, sources  # the folders were found
    failures = []
    for path in sources:
        try:
            compile(path.read_text(encoding="utf-8"), str(path), "exec")
        except SyntaxError as error:
            failures.append(f"{path.relative_to(ROOT)}:{error.lineno}: {error.msg}")
    assert failures == []
