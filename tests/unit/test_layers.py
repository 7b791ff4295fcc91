"""The package's layer map holds: imports run one way, no cycle, and the pure core does no I/O."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import bucketsync

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(bucketsync.__file__).parent


def test_lint_imports_keeps_every_contract():
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _layers() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(contract for contract in config["contracts"] if contract["type"] == "layers")["layers"]
    return [name.strip() for layer in layers for name in layer.split("|")]


def test_the_documented_layer_map_is_the_checked_one():
    documented = bucketsync.__doc__
    for name in _layers():
        assert f"{name} " in documented or f"{name}," in documented, name


def test_every_module_lives_in_a_layer():
    placed = set(_layers())
    top = {path.stem for path in PACKAGE.glob("*.py")} - {"__init__"}
    packages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    assert top | packages <= placed, f"outside the layer map: {sorted((top | packages) - placed)}"


def test_each_package_docstring_names_its_modules():
    for init in PACKAGE.glob("*/__init__.py"):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        for module in init.parent.glob("*.py"):
            if module.stem != "__init__":
                assert f"    {module.stem} " in doc, f"{init.parent.name}/__init__.py does not name {module.stem}"
