"""Objects that change under a run, through `bucketsync sync` (embedded) and real workers (distributed).

The proxy changes the source at exact moments, by running a callback after moto answered and before
bucketsync sees the answer:
- after the run's listing of the source: one object is deleted, one overwritten (between listing and copy);
- after the first part of a multipart copy: the object being copied is overwritten (during the copy).

What must hold: a deleted object is reported as vanished, not failed (exit 0); an overwritten one ends
at the destination as one version whole, never parts of two, and the report says which
(`changed_since_listing`). With a versioned source every part is pinned to the listed version id;
with an unversioned one, on a server that ignores CopySourceIfMatch (moto, like Ceph RGW), the engine
sees the ETag move and copies the newer version whole.
"""

from __future__ import annotations

import os

import pytest

from conftest import unique_bucket
from tests.integration.helpers import Seed, cli_env, explain, in_days, seed, sync

from .conftest import MULTIPART, MiB, assert_replica, through, verify_cli

PAGE_SIZE = "20"  # the run's listing asks for this many keys (the lock-permission probe asks for 3)


def changing_source(s3, proxy, source: str, versioned: bool) -> dict:
    """Seed the source and arm the proxy; returns the bodies before and after the changes."""
    bodies = {
        "keep.txt": b"stays as listed",
        "gone.txt": b"deleted after listing",
        "changed.txt": b"listed bytes",
        "big.bin": os.urandom(6 * MiB),  # above the threshold: copied in two UploadPartCopy parts
    }
    newer = {"changed.txt": b"newer and longer bytes, written after listing", "big.bin": os.urandom(7 * MiB)}
    lock = {"mode": "GOVERNANCE", "retain_until": in_days(1)} if versioned else {}
    seed(s3, source, [Seed(key, body, **(lock if key == "keep.txt" else {})) for key, body in bodies.items()])

    def after_listing(request, response) -> None:
        s3.delete_object(Bucket=source, Key="gone.txt")
        s3.put_object(Bucket=source, Key="changed.txt", Body=newer["changed.txt"])

    def during_copy(request, response) -> None:
        s3.put_object(Bucket=source, Key="big.bin", Body=newer["big.bin"])

    proxy.on(
        lambda r: r.operation == "ListObjectsV2" and r.bucket == source and r.query.get("max-keys") == [PAGE_SIZE],
        after=after_listing,
    )
    proxy.on(lambda r: r.operation == "UploadPartCopy" and r.key == "big.bin", after=during_copy)
    return {"before": bodies, "after": newer}


@pytest.fixture(params=["embedded", "distributed"])
def run_env(request, moto_server, proxy):
    if request.param == "distributed":
        return request.getfixturevalue("proxied_workers").env
    return cli_env(through(proxy, moto_server), page_size=PAGE_SIZE, concurrency="4", **MULTIPART)


@pytest.mark.parametrize("versioned", [True, False], ids=["versioned", "unversioned"])
def test_objects_deleted_and_overwritten_during_the_run(moto_server, s3, proxy, run_env, versioned, tmp_path):
    source, dest = unique_bucket("csrc"), unique_bucket("cdst")
    lock = {"ObjectLockEnabledForBucket": True} if versioned else {}
    s3.create_bucket(Bucket=source, **lock)
    s3.create_bucket(Bucket=dest, **lock)
    bodies = changing_source(s3, proxy, source, versioned)

    result = sync(f"s3://{source}", f"s3://{dest}", env=run_env, report_path=tmp_path / "report.json")

    assert result.returncode == 0, explain(result)
    report = result.report
    assert (report["listed"], report["copied"], report["vanished"], report["failed"]) == (4, 3, 1, 0), report
    [vanished] = report["vanished_keys"]
    assert vanished["key"] == "gone.txt" and ("404" in vanished["reason"] or "NoSuchKey" in vanished["reason"])
    assert "vanished" in result.stdout
    held = {key: s3.get_object(Bucket=dest, Key=key)["Body"].read() for key in ("keep.txt", "changed.txt", "big.bin")}
    assert held["keep.txt"] == bodies["before"]["keep.txt"]
    assert held["changed.txt"] == bodies["after"]["changed.txt"]
    # Never a mix: the listed version whole, or the newer one whole; the report says which.
    assert held["big.bin"] in (bodies["before"]["big.bin"], bodies["after"]["big.bin"]), "big.bin is a mix of two versions"
    big_was_newer = held["big.bin"] == bodies["after"]["big.bin"]
    assert report["changed_since_listing"] == 1 + big_was_newer
    assert report["bytes_copied"] == sum(len(body) for body in held.values())
    # Pinned to the version id, a versioned source's listed version is what gets copied; unversioned,
    # the move is seen and the newer version copied.
    assert big_was_newer is not versioned

    if versioned:
        # The source moved on after its copy started: verify shows exactly that, and a re-run fixes it.
        found = verify_cli(moto_server, source, dest)
        assert found["exit_code"] == 1 and {d["key"] for d in found["differences"]} == {"big.bin"}, found
        proxy.reset()
        again = sync(f"s3://{source}", f"s3://{dest}", env=run_env, report_path=tmp_path / "again.json")
        assert again.returncode == 0 and again.report["copied"] == 1, explain(again)
    assert_replica(moto_server, s3, source, dest)
