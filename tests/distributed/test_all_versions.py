"""`sync --all-versions` on real Celery workers over the session's redis-server, against each S3 server:
histories that span listing pages are planned whole, written in order, counted once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from conftest import create_bucket, unique_bucket
from tests.distributed.conftest import WorkerPool, broker_env
from tests.integration.helpers import explain, in_days, sync
from tests.integration.history_helpers import history_shape, put_versions, version_locks

# One Redis database apart from the other distributed tests' (1-10, 12-14).
DATABASE = 11
COUNTED = ("listed", "copied", "delete_markers_copied", "skipped", "lock_updated", "failed", "vanished",
           "bytes_copied", "versions_kept", "versions_rewritten")


@pytest.fixture
def version_workers(s3_server, redis_server) -> Iterator[WorkerPool]:
    """One worker process; pages of 3 entries so histories span pages, batches of 2 entries."""
    broker_url = redis_server.url.rsplit("/", 1)[0] + f"/{DATABASE}"
    redis.Redis.from_url(broker_url).flushdb()
    env = broker_env(s3_server, broker_url, page_size="3", batch_size="2", concurrency="4")
    pool = WorkerPool(env=env, broker_url=broker_url)
    pool.start(f"v1-{s3_server.name}")
    yield pool
    pool.stop_all()


def seed_histories(s3, bucket: str) -> None:
    until = in_days(1)
    put_versions(s3, bucket, "a-record", [b"draft", b"final", b"amended"],
                 ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    put_versions(s3, bucket, "b-short", [b"b1"])
    put_versions(s3, bucket, "c-long", [f"c{n}".encode() for n in range(1, 8)])
    s3.delete_object(Bucket=bucket, Key="c-long")
    put_versions(s3, bucket, "d-held", [b"d1", b"d2"], ObjectLockLegalHoldStatus="ON")
    put_versions(s3, bucket, "f-last", [b"f1", b"f2"])


def test_distributed_history_matches_the_embedded_one(s3_server, version_workers, tmp_path):
    s3 = s3_server.client()
    source, dest, embedded_dest = (create_bucket(s3, unique_bucket(stem), object_lock=True) for stem in ("vs", "vd", "ve"))
    seed_histories(s3, source)
    env = version_workers.env

    distributed = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=tmp_path / "d.json")

    assert distributed.returncode == 0, explain(distributed) + version_workers.log_text()
    report = distributed.report
    assert (report["listed"], report["copied"], report["delete_markers_copied"]) == (16, 15, 1), explain(distributed)
    assert history_shape(s3, dest) == history_shape(s3, source)
    assert version_locks(s3, dest, "a-record") == version_locks(s3, source, "a-record")
    embedded_env = {k: v for k, v in env.items() if k != "BUCKETSYNC_BROKER_URL"}
    embedded = sync(f"s3://{source}", f"s3://{embedded_dest}", "--all-versions", env=embedded_env,
                    report_path=tmp_path / "e.json")
    assert embedded.returncode == 0, explain(embedded)
    assert {name: report[name] for name in COUNTED} == {name: embedded.report[name] for name in COUNTED}

    again = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=tmp_path / "d2.json")
    assert again.returncode == 0, explain(again) + version_workers.log_text()
    assert (again.report["copied"], again.report["delete_markers_copied"], again.report["lock_updated"]) == (0, 0, 0)
    assert again.report["skipped"] == 16

    put_versions(s3, source, "c-long", [b"c8"])
    draft = s3.list_object_versions(Bucket=source, Prefix="a-record")["Versions"][-1]["VersionId"]
    s3.put_object_legal_hold(Bucket=source, Key="a-record", VersionId=draft, LegalHold={"Status": "ON"})

    third = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=tmp_path / "d3.json")

    assert third.returncode == 0, explain(third) + version_workers.log_text()
    assert (third.report["copied"], third.report["lock_updated"]) == (1, 1), explain(third)
    assert history_shape(s3, dest) == history_shape(s3, source)
    assert version_locks(s3, dest, "a-record")[0]["legal_hold"] is True
