"""The distributed run on each S3 server: real Celery workers over the session's redis-server, against moto,
Ceph RGW (and an external server when named)."""

from __future__ import annotations

import pytest

from conftest import create_bucket, unique_bucket
from tests.distributed.conftest import WorkerPool, broker_env
from tests.integration.helpers import (
    MiB, compare_buckets, explain, fixture_set, put_multipart, put_parts, seed, sync, version_count,
)

# One Redis database per server, apart from the other distributed tests' (1-10).
DATABASES = {"moto": 12, "rgw": 13, "external": 14}


@pytest.fixture
def server_workers(s3_server, redis_server, worker_pools) -> WorkerPool:
    """Two worker processes whose S3 is the contract's server; small pages and batches."""
    broker_url = redis_server.url.rsplit("/", 1)[0] + f"/{DATABASES[s3_server.name]}"
    return worker_pools.get(f"c-{s3_server.name}-", s3_server, broker_url, page_size="20", batch_size="5",
                            concurrency="4")


def test_distributed_run_replicates_and_a_second_run_copies_nothing(s3_server, server_workers, tmp_path):
    s3 = s3_server.client()
    source, dest = (create_bucket(s3, unique_bucket(stem), object_lock=True) for stem in ("csrc", "cdst"))
    seeds = fixture_set()
    seed(s3, source, seeds)
    for index in range(40):
        s3.put_object(Bucket=source, Key=f"plain/{index:03d}", Body=f"object {index}".encode())
    put_multipart(s3, source, "big/tagged.bin", 6 * MiB, 5 * MiB, tags={"kind": "big"}, Metadata={"owner": "ops"})
    # Two equal parts: RGW does not report the layout, and 8 MiB parts (8+4) would give another ETag.
    put_parts(s3, source, "big/two-equal.bin", [6 * MiB, 6 * MiB])
    listed = len(seeds) + 40 + 2

    first = sync(f"s3://{source}", f"s3://{dest}", env=server_workers.env, report_path=tmp_path / "first.json")

    assert first.returncode == 0, explain(first) + server_workers.log_text()
    assert first.report["mode"] == "distributed"
    assert (first.report["listed"], first.report["copied"], first.report["failed"]) == (listed, listed, 0)
    assert compare_buckets(s3, source, s3, dest) == []

    written = version_count(s3, dest)

    second = sync(f"s3://{source}", f"s3://{dest}", env=server_workers.env, report_path=tmp_path / "second.json")

    assert second.returncode == 0, explain(second)
    assert second.report["copied"] == 0 and second.report["skipped"] == listed
    assert version_count(s3, dest) == written
