"""Objects that fail, vanish or change during a run: outcomes with reasons, the run goes on.

No mocks: failures come from what moto really does (an archived object cannot be read or copied, a
deleted key answers 404), and changes "during the run" are made by a botocore event handler on the
engine's own client, right after its listing call returns.
"""

from __future__ import annotations

import pytest

from bucketsync.run.context import prepare_run
from bucketsync.run.embedded import run_embedded
from bucketsync.engine.execute import execute
from bucketsync.core.model import ObjectEntry
from bucketsync.core.plan import PlannedAction
from bucketsync.core.settings import load_settings
from conftest import OTHER_ACCESS_KEY, OTHER_SECRET_KEY, set_side_env, unique_bucket

from .helpers import EXIT_CODE_LOST, Seed, cli_env, compare_object, expect_cli, explain, in_days, list_keys, seed, sync


def prepare(monkeypatch, source_server, dest_server, source_url, dest_url):
    """A run as `bucketsync sync` prepares it (settings from BUCKETSYNC_* variables, preflight), in process."""
    set_side_env(monkeypatch, "source", source_server)
    set_side_env(monkeypatch, "dest", dest_server)
    return prepare_run(load_settings(), source_url, dest_url)


def after_listing(client, bucket: str, action) -> None:
    """Run `action` once, right after the engine's first ListObjectsV2 page of `bucket` returns (not the
    request with a delimiter that decides the key ranges)."""
    done = []

    def hook(parsed, **_):
        if not done and parsed.get("Name") == bucket and not parsed.get("Delimiter"):
            done.append(True)
            action()

    client.meta.events.register("after-call.s3.ListObjectsV2", hook)


@pytest.mark.parametrize("cross_endpoint", [False, True], ids=["server-side", "streamed"])
def test_archived_object_fails_others_copied_exit_1(moto_server, other_moto_server, s3, cross_endpoint, tmp_path):
    """An object in GLACIER cannot be copied or read (as on AWS): one failure with its reason, exit 1."""
    source = unique_bucket("fsrc")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    dest_server = other_moto_server if cross_endpoint else moto_server
    dest_client = dest_server.client(OTHER_ACCESS_KEY, OTHER_SECRET_KEY) if cross_endpoint else s3
    dest = unique_bucket("fdst")
    dest_client.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    seed(s3, source, [Seed("fine.txt", b"fine", mode="GOVERNANCE", retain_until=in_days(1)), Seed("also fine.txt", b"ok")])
    s3.put_object(Bucket=source, Key="archive/cold.bin", Body=b"frozen", StorageClass="GLACIER")
    env = cli_env(moto_server, dest_server, dest_keys=(OTHER_ACCESS_KEY, OTHER_SECRET_KEY) if cross_endpoint else None)

    result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "report.json")

    assert result.returncode in (0, 1), explain(result)
    assert "Traceback" not in result.stderr
    report = result.report
    assert report["failed"] == 1 and report["copied"] == 2 and report["listed"] == 3
    [failure] = report["failures"]
    assert set(failure) >= {"key", "version_id", "reason"}
    assert failure["key"] == "archive/cold.bin"
    assert ("ObjectNotInActiveTierError" if not cross_endpoint else "InvalidObjectState") in failure["reason"]
    assert sorted(list_keys(dest_client, dest)) == ["also fine.txt", "fine.txt"]
    assert compare_object(s3, source, "fine.txt", dest_client, dest, "fine.txt") == []
    assert "archive/cold.bin" in result.stdout  # the terminal summary lists the failure
    expect_cli(result.returncode == 1, EXIT_CODE_LOST)


@pytest.mark.parametrize("cross_endpoint", [False, True], ids=["server-side", "streamed"])
@pytest.mark.parametrize("locked", [True, False], ids=["locked", "unlocked"])
def test_execute_reports_a_vanished_object(monkeypatch, moto_server, other_moto_server, s3, cross_endpoint, locked):
    """A planned copy of a key that no longer exists ends as `vanished`, with the S3 reason."""
    source, dest = unique_bucket("vsrc"), unique_bucket("vdst")
    dest_server = other_moto_server if cross_endpoint else moto_server
    lock = {"ObjectLockEnabledForBucket": True} if locked else {}
    s3.create_bucket(Bucket=source, **lock)
    dest_server.client().create_bucket(Bucket=dest, **lock)
    s3.put_object(Bucket=source, Key="here and gone.txt", Body=b"brief")
    listed = list_keys(s3, source)["here and gone.txt"]
    s3.delete_object(Bucket=source, Key="here and gone.txt")
    _, ctx = prepare(monkeypatch, moto_server, dest_server, f"s3://{source}", f"s3://{dest}")
    assert ctx.server_side is not cross_endpoint

    outcome = execute(ctx, PlannedAction("copy", "here and gone.txt", ObjectEntry("here and gone.txt", 5, listed["ETag"])))

    assert outcome.status == "vanished"
    assert outcome.reason and ("404" in outcome.reason or "NoSuchKey" in outcome.reason)
    assert list_keys(dest_server.client(), dest) == {}


@pytest.fixture(params=[False, True], ids=["server-side", "streamed"])
def run_buckets(request, s3, moto_server, other_moto_server):
    """(source, destination, destination server, its client): one endpoint, or two."""
    dest_server = other_moto_server if request.param else moto_server
    dest_client = dest_server.client()
    source, dest = unique_bucket("rsrc"), unique_bucket("rdst")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    dest_client.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    return source, dest, dest_server, dest_client


def test_object_deleted_after_listing_is_reported_and_the_run_goes_on(monkeypatch, moto_server, s3, run_buckets):
    source, dest, dest_server, dest_client = run_buckets
    seed(s3, source, [
        Seed("a.txt", b"a", mode="GOVERNANCE", retain_until=in_days(1)),
        Seed("b vanishes.txt", b"b"),
        Seed("c.txt", b"c", legal_hold=True),
        Seed("d vanishes too.txt", b"d"),
    ])
    seed(dest_client, dest, [Seed("d vanishes too.txt", b"d")])  # unchanged: its lock check finds it gone

    def delete_two():
        # On a versioned bucket this places delete markers: the keys are gone from the current view.
        for key in ("b vanishes.txt", "d vanishes too.txt"):
            s3.delete_object(Bucket=source, Key=key)

    request, ctx = prepare(monkeypatch, moto_server, dest_server, f"s3://{source}", f"s3://{dest}")
    after_listing(ctx.source_client, source, delete_two)

    summary = run_embedded(ctx, request)

    assert summary.listed == 4
    assert summary.copied == 2 and summary.vanished == 2 and summary.failed == 0
    assert summary.exit_code() == 0
    assert sorted(item["key"] for item in summary.vanished_keys) == ["b vanishes.txt", "d vanishes too.txt"]
    assert all(item["reason"] for item in summary.vanished_keys)
    assert sorted(list_keys(dest_client, dest)) == ["a.txt", "c.txt", "d vanishes too.txt"]


def test_object_overwritten_after_listing_copies_the_newer_version(monkeypatch, moto_server, s3, run_buckets):
    source, dest, dest_server, dest_client = run_buckets
    seed(s3, source, [Seed("changing.txt", b"old bytes", mode="GOVERNANCE", retain_until=in_days(1))])
    newer = Seed("changing.txt", b"newer, longer bytes", mode="COMPLIANCE", retain_until=in_days(2), tags={"v": "2"})
    request, ctx = prepare(monkeypatch, moto_server, dest_server, f"s3://{source}", f"s3://{dest}")
    after_listing(ctx.source_client, source, lambda: seed(s3, source, [newer]))

    summary = run_embedded(ctx, request)

    assert summary.copied == 1 and summary.failed == 0
    assert summary.changed_since_listing == 1
    assert summary.bytes_copied == len(newer.body)
    assert compare_object(s3, source, "changing.txt", dest_client, dest, "changing.txt") == []


def test_a_failed_object_gives_exit_code_1(monkeypatch, moto_server, s3, locked_buckets):
    """The engine's side of exit 1, in process: a failure is counted and the summary maps it to 1."""
    source, dest = locked_buckets
    seed(s3, source, [Seed("warm.txt", b"warm")])
    s3.put_object(Bucket=source, Key="cold.txt", Body=b"cold", StorageClass="DEEP_ARCHIVE")
    request, ctx = prepare(monkeypatch, moto_server, moto_server, f"s3://{source}", f"s3://{dest}")

    summary = run_embedded(ctx, request)

    assert (summary.copied, summary.failed) == (1, 1)
    assert summary.failures[0]["key"] == "cold.txt"
    assert summary.exit_code() == 1


def test_an_error_escaping_a_copy_thread_fails_the_run_instead_of_vanishing(monkeypatch, moto_server, s3, locked_buckets):
    """The embedded pool looks at its futures: a bug outside execute() (here: in the progress callback, run
    on a copy thread) ends the run `failed` with an internal error, not `finished` with a count short."""
    import threading

    source, dest = locked_buckets
    seed(s3, source, [Seed(f"k{n}", b"x") for n in range(6)])
    request, ctx = prepare(monkeypatch, moto_server, moto_server, f"s3://{source}", f"s3://{dest}")

    def progress(summary):
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("progress display broke")

    summary = run_embedded(ctx, request, on_progress=progress)

    assert summary.state == "failed"
    assert summary.error == "internal error: RuntimeError: progress display broke"
    assert summary.exit_code() == 2
