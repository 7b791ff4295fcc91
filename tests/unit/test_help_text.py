"""`--help` reads as aws-cli's and rclone's: flags without type placeholders, `SRC DST`, one meaning per
option name, and flags parsed as their help shows them (issue 21, item 8)."""

from __future__ import annotations

import re

import pytest
import typer

from bucketsync.cli import app

COMMANDS = ["sync", "verify", "status", "resume", "worker", "exporter", "demo", "beat", "schedules", "runs"]
PLACEHOLDER = re.compile(r"<(bool|str|int|float|path|int range|float range)>|\{[A-Z_]+\}|\[\d+<=x<=\d+\]")


def group():
    return typer.main.get_command(app)


def help_of(*args: str) -> str:
    from typer.testing import CliRunner

    done = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200"}, prog_name="bucketsync")
    assert done.exit_code == 0, done.output
    return done.output


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_has_no_type_placeholders(command):
    text = help_of(*([command] if command else []))
    assert not PLACEHOLDER.findall(text), PLACEHOLDER.findall(text)


def test_arguments_read_src_dst_and_options_name_their_value():
    text = help_of("sync")
    assert "Usage: bucketsync sync [OPTIONS] SRC DST" in text
    assert re.search(r"--source-endpoint-url +URL ", text)
    assert re.search(r"--report-json +PATH ", text)
    assert re.search(r"--delete +delete destination keys", text)  # a flag: nothing between name and help


def parse(command: str, *args: str) -> dict:
    cli = group()
    ctx = typer.Context(cli, info_name="bucketsync")
    return cli.get_command(ctx, command).make_context(command, list(args), parent=ctx).params


def test_flags_take_the_flag_form():
    params = parse("sync", "s3://a", "s3://b", "--delete", "--dry-run", "--no-all-versions")
    assert (params["delete"], params["dry_run"], params["all_versions"]) == (True, True, False)
    assert parse("sync", "s3://a", "s3://b", "--all-versions")["all_versions"] is True
    assert parse("verify", "s3://a", "s3://b", "--all-versions")["all_versions"] is True


def test_concurrency_means_parallel_operations_only():
    """The worker's process count is --processes; its old spelling is a hidden alias."""
    assert parse("worker", "--processes", "4")["processes"] == 4
    assert parse("worker", "--concurrency", "3")["old_processes"] == 3
    assert "--processes" in help_of("worker") and "--concurrency" not in help_of("worker")
    assert "parallel object operations" in help_of("sync")


def test_shell_completion_is_offered():
    text = help_of()
    assert "--install-completion" in text and "--show-completion" in text
