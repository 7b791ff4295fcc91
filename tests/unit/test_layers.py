"""The package's layer map holds: imports run one way, no cycle, and the pure core does no I/O."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import bucketsync

REPO = Path(__file__).resolve().parents[2]


def test_lint_imports_keeps_every_contract():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_the_documented_layer_map_is_the_checked_one():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(contract for contract in config["contracts"] if contract["type"] == "layers")["layers"]
    documented = bucketsync.__doc__
    for layer in layers:
        for module in layer.split("|"):
            assert f"{module.strip()} " in documented or f"{module.strip()}\n" in documented, module
    every_module = {path.stem for path in Path(bucketsync.__file__).parent.glob("*.py")} - {"__init__"}
    placed = {module.strip() for layer in layers for module in layer.split("|")}
    assert every_module <= placed, f"modules missing from the layer map: {sorted(every_module - placed)}"
