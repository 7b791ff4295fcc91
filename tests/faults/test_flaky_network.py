"""Throttling and a flaky network: a share of S3 requests answered `503 SlowDown`, connections reset
before and after the server acted. botocore's retry mode (BUCKETSYNC_RETRY_MODE / MAX_ATTEMPTS) rides
it out; the destination ends complete and correct and the report's counts are exact.

Besides the random share, each run meets the cases where a retry repeats something that already
happened: a CopyObject, a PutObjectRetention and a CompleteMultipartUpload whose answers are lost after
the server acted. For the last one the retry is answered `NoSuchUpload`, as servers that are not
idempotent there do (moto completes it again; Ceph RGW and MinIO do not): the copy must still count
as copied, once, and not as failed.
"""

from __future__ import annotations

import os

import pytest

from conftest import unique_bucket
from tests.integration.helpers import Seed, cli_env, explain, fixture_set, in_days, put_multipart, seed, sync

from .conftest import MULTIPART, MiB, assert_replica, through

PLAIN = 16


def seed_source(client, bucket: str) -> tuple[int, int]:
    """fixture_set (every lock, header, tag and awkward key), plain objects, and three that take the
    multipart paths. Returns (objects, bytes)."""
    seeds = fixture_set() + [Seed(f"plain/{n:03d}", os.urandom(100 + n)) for n in range(PLAIN)]
    seed(client, bucket, seeds)
    sizes = [len(item.body) for item in seeds]
    put_multipart(client, bucket, "multipart/locked.bin", 6 * MiB, 5 * MiB,
                  lock=Seed("", b"", mode="GOVERNANCE", retain_until=in_days(2), legal_hold=True),
                  ContentType="application/x-test", Metadata={"layout": "2 parts"}, Tagging="kind=multipart")
    put_multipart(client, bucket, "multipart/plain.bin", 11 * MiB, 5 * MiB)
    client.put_object(Bucket=bucket, Key="large single part.bin", Body=os.urandom(6 * MiB))  # above the threshold
    sizes += [6 * MiB, 11 * MiB, 6 * MiB]
    return len(sizes), sum(sizes)


def seeded_locked_pair(s3) -> tuple[str, str, int, int]:
    """Two new lock-enabled buckets on one server, the source seeded: (source, dest, objects, bytes)."""
    source, dest = unique_bucket("nsrc"), unique_bucket("ndst")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    return (source, dest, *seed_source(s3, source))


def is_quirk_probe(request) -> bool:
    """The run's one CopyObject that asks the server what it needs (it writes nothing, so loses nothing)."""
    return (request.key or "").startswith("bucketsync-quirk-probe-")


def lost_answers(proxy) -> dict:
    """Rules: the first answer of each of these is lost after the server acted; botocore retries."""
    completed: dict[str, str] = {}

    def first_completion(request) -> bool:
        if request.operation == "CompleteMultipartUpload" and not completed:
            completed["upload"] = request.query["uploadId"][0]
            return True
        return False

    def completion_retried(request) -> bool:
        return request.operation == "CompleteMultipartUpload" and request.query.get("uploadId") == [completed.get("upload")]

    return {
        "listing": proxy.on(lambda r: r.operation == "ListObjectsV2", "reset"),
        "copy": proxy.on(lambda r: r.operation in ("CopyObject", "PutObject") and not is_quirk_probe(r), "reset_after"),
        "retention": proxy.on(lambda r: r.operation == "PutObjectRetention", "reset_after"),
        "completion": proxy.on(first_completion, "reset_after"),
        "completion retried": proxy.on(completion_retried, "error", error=(
            404, "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
        )),
    }


def check_report(report: dict, objects: int, size: int) -> None:
    assert report["state"] == "finished"
    assert (report["listed"], report["copied"], report["failed"], report["vanished"]) == (objects, objects, 0, 0), report
    assert report["bytes_copied"] == size
    assert report["changed_since_listing"] == 0 and report["failures"] == [] and report["vanished_keys"] == []
    assert report["retention_expired"] == 1  # lock/expired.txt


def check_faults_served(proxy, rules: dict) -> None:
    assert proxy.counts["slowdown"] > 0, proxy.counts
    assert proxy.counts["reset"] > 0, proxy.counts
    for name, rule in rules.items():
        assert rule.hits == 1, f"rule {name!r} never applied: {proxy.counts}"


@pytest.mark.parametrize("mode", ["adaptive", "standard"])
def test_embedded_run_through_throttling_and_resets(moto_server, s3, proxy, tmp_path, mode):
    source, dest, objects, size = seeded_locked_pair(s3)
    rules = lost_answers(proxy)
    # Adaptive mode answers each SlowDown by lowering its own request rate (to ~14/s at a 12 % share
    # on this machine): a smaller share still shows it riding the throttling out, in less time.
    proxy.chaos(slowdown=0.05 if mode == "adaptive" else 0.12, reset=0.06)
    env = cli_env(through(proxy, moto_server), retry_mode=mode, max_attempts="10", concurrency="8", **MULTIPART)

    result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "report.json")

    assert result.returncode == 0, explain(result) + f"\nproxy: {proxy.counts}"
    check_report(result.report, objects, size)
    check_faults_served(proxy, rules)
    assert_replica(moto_server, s3, source, dest)

    if mode == "adaptive":
        return  # adaptive mode slows itself down after throttling: one run is proof enough, and quicker
    # Again, through the same faults: nothing to copy, every lock checked, nothing failed.
    again = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "again.json")
    assert again.returncode == 0, explain(again)
    assert (again.report["copied"], again.report["skipped"], again.report["failed"]) == (0, objects, 0)


def test_streamed_run_through_throttling_and_resets(moto_server, other_moto_server, s3, proxy, other_proxy, tmp_path):
    """Different endpoints: GET from one proxy, PUT and multipart uploads through another."""
    source, dest = unique_bucket("nsrc"), unique_bucket("ndst")
    dest_client = other_moto_server.client()
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    dest_client.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    objects, size = seed_source(s3, source)
    source_rules = {"listing": proxy.on(lambda r: r.operation == "ListObjectsV2", "reset")}
    dest_rules = lost_answers(other_proxy)
    del dest_rules["listing"]
    for each in (proxy, other_proxy):
        each.chaos(slowdown=0.12, reset=0.06)
    env = cli_env(through(proxy, moto_server), through(other_proxy, other_moto_server), concurrency="8", **MULTIPART)

    result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "report.json")

    assert result.returncode == 0, explain(result) + f"\nproxies: {proxy.counts} {other_proxy.counts}"
    check_report(result.report, objects, size)
    check_faults_served(proxy, source_rules)
    check_faults_served(other_proxy, dest_rules)
    assert_replica(moto_server, s3, source, dest, other_moto_server, dest_client)


def test_distributed_run_through_throttling_and_resets(moto_server, s3, proxy, proxied_workers, tmp_path):
    """Real workers (and the coordinator's listing) reach S3 through the proxy; the ledger counts once."""
    source, dest, objects, size = seeded_locked_pair(s3)
    rules = lost_answers(proxy)
    proxy.chaos(slowdown=0.12, reset=0.06)

    result = sync(f"s3://{source}", f"s3://{dest}", env=proxied_workers.env, report_path=tmp_path / "report.json")

    assert result.returncode == 0, explain(result) + f"\nproxy: {proxy.counts}\n" + proxied_workers.log_text()
    assert result.report["mode"] == "distributed"
    check_report(result.report, objects, size)
    check_faults_served(proxy, rules)
    assert_replica(moto_server, s3, source, dest)
