"""`bucketsync demo`: the README's first command works with no cloud account."""

from __future__ import annotations

import pytest

from conftest import run_cli

from .helpers import explain

pytestmark = pytest.mark.integration


def test_demo_replicates_and_checks_locks():
    result = run_cli("demo", "--objects", "5", timeout=120)

    assert result.returncode == 0, explain(result)
    assert "Demo OK" in result.stdout
    assert "Second run: copied 0" in result.stdout
    assert "Traceback" not in result.stderr
