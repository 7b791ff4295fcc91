"""`bucketsync demo`: the README's first command works with no cloud account."""

from __future__ import annotations

from conftest import run_cli

from .helpers import explain


def test_demo_replicates_and_checks_locks():
    result = run_cli("demo", "--objects", "5", timeout=120)

    assert result.returncode == 0, explain(result)
    assert "Demo OK" in result.stdout
    assert "copied 0, lock-updated 2" in result.stdout  # lock changes propagated, no bytes copied
    assert "Traceback" not in result.stderr
