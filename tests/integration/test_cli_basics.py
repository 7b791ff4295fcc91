"""What `bucketsync` says about itself: help for users, its version, and debug output on request."""

from __future__ import annotations

import pytest

from bucketsync import __version__
from conftest import run_cli
from tests.integration.helpers import Seed, cli_env, seed


def test_help_speaks_to_users_not_to_developers():
    done = run_cli("--help")
    assert done.returncode == 0
    assert "Object Lock" in done.stdout and "Exit codes" in done.stdout
    assert "parse" not in done.stdout.lower()  # the CLI module's docstring is for developers


def test_version():
    done = run_cli("--version")
    assert (done.returncode, done.stdout.strip()) == (0, f"bucketsync {__version__}")


@pytest.mark.parametrize("how", ["option", "variable"])
def test_debug_logs_what_the_run_does(moto_server, s3, locked_buckets, how):
    source, dest = locked_buckets
    seed(s3, source, [Seed("a.txt", b"a")])
    env = cli_env(moto_server)
    args = ["sync", f"s3://{source}", f"s3://{dest}"]
    if how == "option":
        args.insert(0, "--debug")
    else:
        env["BUCKETSYNC_DEBUG"] = "1"

    done = run_cli(*args, env=env)

    assert done.returncode == 0, done.stderr
    assert "DEBUG bucketsync.cli: run " in done.stderr and f"s3://{source}" in done.stderr


def test_no_debug_output_by_default(moto_server, s3, locked_buckets):
    source, dest = locked_buckets
    seed(s3, source, [Seed("a.txt", b"a")])
    done = run_cli("sync", f"s3://{source}", f"s3://{dest}", env=cli_env(moto_server))
    assert done.returncode == 0 and "DEBUG" not in done.stderr
