"""The README is a guide whose examples run, and the reference loses nothing (issue 21, item 9).

The README's walk-through is its fenced `sh` blocks marked `<!-- walkthrough -->` (and `: server`, `: redis`), run
in order as one bash script from a fresh directory, as a new operator would paste them: the moto server it starts
on port 5000 gets a free port instead, and the Redis URL points at the test's redis-server.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import typer

import bucketsync.core.settings as settings_module
from bucketsync.cli import app
from conftest import bucketsync_env, free_port


REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
REFERENCE = REPO / "docs" / "reference.md"
BLOCK = re.compile(r"<!-- walkthrough(?:: (\w+))? -->\n```sh\n(.*?)```", re.S)


def walkthrough() -> list[tuple[str, str]]:
    """(kind, text) of each marked block, in order: kind '' (plain), 'server' or 'redis'."""
    return [(kind or "", text) for kind, text in BLOCK.findall(README.read_text(encoding="utf-8"))]


def script_for(moto_port: int, redis_url: str) -> str:
    venv_activate = Path(sys.executable).parent / "activate"
    wait_for_moto = (
        f"{sys.executable} -c 'import socket, time\n"
        f"for _ in range(300):\n"
        f"    try: socket.create_connection((\"127.0.0.1\", {moto_port}), 0.5).close(); break\n"
        f"    except OSError: time.sleep(0.1)'\n"
    )
    parts = []
    for kind, text in walkthrough():
        text = text.replace(". .venv/bin/activate", f". {venv_activate}").replace("127.0.0.1:5000", f"127.0.0.1:{moto_port}")
        text = text.replace("python -m moto.server -p 5000", f"python -m moto.server -p {moto_port}")
        text = text.replace("redis://127.0.0.1:6379/0", redis_url)
        parts.append(text + (wait_for_moto if kind == "server" else ""))
    return "set -euo pipefail\n" + "\n".join(parts)


def test_the_walkthrough_runs_as_written(tmp_path, redis_server):
    kinds = [kind for kind, _ in walkthrough()]
    assert kinds[0] == "server" and "redis" in kinds and len(kinds) >= 6, kinds
    redis_url = redis_server.url.rsplit("/", 1)[0] + "/22"  # no shared worker pool listens there
    script = tmp_path / "walkthrough.sh"
    script.write_text(script_for(free_port(), redis_url))
    run = subprocess.Popen(["bash", str(script)], cwd=tmp_path, env=bucketsync_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = run.communicate(timeout=280)
    finally:
        try:  # the moto server (and a worker, if the script died before stopping it) it started
            os.killpg(run.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    assert run.returncode == 0, f"stdout:\n{out}\nstderr:\n{err}"
    # what the README says the first walk-through prints
    summaries = [block for block in out.split("run ") if "ledger-replica" in block]
    first, second = summaries[1], summaries[2]  # after the dry run
    assert re.search(r"copied\s+3 ", first) and re.search(r"excluded\s+1 ", first), first
    assert re.search(r"skipped\s+3 \(unchanged\)", second) and re.search(r"excluded\s+1 ", second), second
    assert "no differences" in out
    assert "nightly-ledger" in out and "distributed" in out and 'bucketsync_objects_total{' in out
    assert (tmp_path / "first-sync.json").exists() and (tmp_path / "bucketsync.prom").exists()


def test_the_readme_is_a_guide_and_links_to_the_reference():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 250 and len(text.encode()) < 16_000
    headings = re.findall(r"^## (.+)$", text, re.M)
    assert headings[:2] == ["The two commands", "First sync with locks"]
    assert {"Schedules", "Distributed runs", "Metrics", "Failure modes at a glance"} <= set(headings)
    assert "scripts/demo" in text and "scripts/test" in text
    for linked in re.findall(r"\]\((docs/[\w.]+)", text):
        assert (REPO / linked).exists(), linked


def test_the_reference_names_every_option_and_setting():
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="bucketsync")
    reference = REFERENCE.read_text(encoding="utf-8")
    missing = [
        f"{name} {option}"
        for name in group.list_commands(ctx)
        for param in group.get_command(ctx, name).params
        if not param.hidden
        for option in [*param.opts, *param.secondary_opts] if option.startswith("--")
        if option not in reference
    ]
    assert missing == [], missing
    settings = [f"BUCKETSYNC_{name.upper()}" for name in settings_module.Settings.model_fields
                if name not in ("source", "dest")]
    assert [name for name in settings if name not in reference] == []
