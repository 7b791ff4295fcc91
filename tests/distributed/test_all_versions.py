"""`sync --all-versions` on real Celery workers over the session's redis-server, against each S3 server:
histories that span listing pages are planned whole, written in order, counted once; --exclude / --include take
whole histories in or out, as in the embedded run."""

from __future__ import annotations

import pytest

from conftest import create_bucket, unique_bucket
from tests.distributed.conftest import WorkerPool
from tests.integration.helpers import explain, in_days, sync
from tests.integration.history_helpers import history_shape, put_versions, version_locks

# One Redis database per server, apart from the other distributed tests' (1-10, 12-14): the moto and RGW
# pools both stay up, where one database would stop one to start the other at each switch of server.
DATABASES = {"moto": 11, "rgw": 15, "external": 16}
COUNTED = ("listed", "copied", "delete_markers_copied", "skipped", "lock_updated", "failed", "vanished",
           "bytes_copied", "versions_kept", "versions_rewritten")


@pytest.fixture
def version_workers(s3_server, redis_server, worker_pools) -> WorkerPool:
    """One worker process; pages of 3 entries so histories span pages, batches of 2 entries."""
    broker_url = redis_server.url.rsplit("/", 1)[0] + f"/{DATABASES[s3_server.name]}"
    return worker_pools.get(f"v-{s3_server.name}-", s3_server, broker_url, processes=1, page_size="3",
                            batch_size="2", concurrency="4")


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


def test_filters_take_whole_histories_in_or_out_as_in_the_embedded_run(s3_server, version_workers, tmp_path):
    s3 = s3_server.client()
    source, dest, embedded_dest = (create_bucket(s3, unique_bucket(stem), object_lock=True) for stem in ("fs", "fd", "fe"))
    seed_histories(s3, source)  # c-long (7 versions and a marker) spans pages of 3: excluded whole
    put_versions(s3, source, "e/tmp/1", [b"e1", b"e2"])
    put_versions(s3, source, "e/tmp/keep", [b"k1", b"k2"])
    for bucket in (dest, embedded_dest):
        put_versions(s3, bucket, "c-long", [b"other"])  # excluded: never compared, so never written over
        put_versions(s3, bucket, "e/tmp/old", [b"old"])  # excluded: --delete leaves it visible, not counted as kept
        put_versions(s3, bucket, "g-stale", [b"g1"])  # included, not in the source: --delete hides it
    dest_before = history_shape(s3, dest)
    options = ("--all-versions", "--exclude", "c-*", "--exclude", "e/tmp/*", "--include", "e/tmp/keep", "--delete")
    env = version_workers.env

    distributed = sync(f"s3://{source}", f"s3://{dest}", *options, env=env, report_path=tmp_path / "d.json")

    assert distributed.returncode == 0, explain(distributed) + version_workers.log_text()
    report = distributed.report
    # listed: a-record 3, b-short 1, d-held 2, f-last 2, e/tmp/keep 2; excluded: c-long 8, e/tmp/1 2
    counted = (*COUNTED, "excluded", "deleted")
    assert {name: report[name] for name in counted} == {name: 0 for name in counted} | {
        "listed": 10, "excluded": 10, "copied": 10, "bytes_copied": len(b"draftfinalamendedb1d1d2f1f2k1k2"),
        "deleted": 1, "versions_kept": 1,
    }, explain(distributed)
    source_shape, dest_shape = history_shape(s3, source), history_shape(s3, dest)
    for key in ("a-record", "b-short", "d-held", "f-last", "e/tmp/keep"):
        assert dest_shape[key] == source_shape[key], key
    for key in ("c-long", "e/tmp/old"):
        assert dest_shape[key] == dest_before[key], key
    assert "e/tmp/1" not in dest_shape
    assert dest_shape["g-stale"] == {"versions": ["g1"], "markers": 1, "latest": "DM"}

    embedded_env = {k: v for k, v in env.items() if k != "BUCKETSYNC_BROKER_URL"}
    embedded = sync(f"s3://{source}", f"s3://{embedded_dest}", *options, env=embedded_env,
                    report_path=tmp_path / "e.json")
    assert embedded.returncode == 0, explain(embedded)
    assert {name: embedded.report[name] for name in counted} == {name: report[name] for name in counted}
    assert history_shape(s3, embedded_dest) == dest_shape
