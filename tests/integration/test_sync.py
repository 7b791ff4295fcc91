"""`bucketsync sync` on one endpoint (server-side copy), run as an operator runs it: the contract, against
each S3 server (moto, Ceph RGW, and an external one when named); moto-only tests say why."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from conftest import create_bucket, unique_bucket

from .helpers import (
    MiB,
    Seed,
    compare_buckets,
    compare_object,
    cli_env,
    etags,
    explain,
    fixture_set,
    in_days,
    list_keys,
    object_state,
    put_multipart,
    seed,
    sync,
)

@pytest.fixture
def s3(s3_server):
    return s3_server.client()


@pytest.fixture
def report_path(tmp_path):
    return tmp_path / "report.json"


def test_fixture_set_replicates_with_headers_tags_and_locks(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    seeds = fixture_set()
    seed(s3, source, seeds)
    env = cli_env(s3_server)

    first = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert first.returncode == 0, explain(first)
    assert compare_buckets(s3, source, s3, dest) == []
    assert first.report["listed"] == len(seeds)
    assert first.report["copied"] == len(seeds)
    assert first.report["failed"] == 0 and first.report["failures"] == []
    assert first.report["bytes_copied"] == sum(len(item.body) for item in seeds)

    second = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert second.returncode == 0, explain(second)
    assert second.report["copied"] == 0
    assert second.report["lock_updated"] == 0
    assert second.report["skipped"] == len(seeds)
    assert second.report["bytes_copied"] == 0
    assert etags(s3, dest) == etags(s3, source)
    assert compare_buckets(s3, source, s3, dest) == []


def test_prefix_to_prefix(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    inside = [
        Seed("one.txt", b"one", mode="GOVERNANCE", retain_until=in_days(2), tags={"k": "v"}),
        Seed("deep/two words.txt", b"two", legal_hold=True, metadata={"m": "1"}),
        Seed("a+b?.txt", b"three"),
        Seed("/leading slash", b"four", mode="COMPLIANCE", retain_until=in_days(1)),
        Seed("ünï#100%.txt", b"five"),
    ]
    seed(s3, source, inside, prefix="a/")
    seed(s3, source, [Seed("outside.txt", b"not under a/"), Seed("ab/not-a-prefix-match.txt", b"near miss")])
    seed(s3, dest, [Seed("kept-outside-b.txt", b"the destination's own")])

    result = sync(f"s3://{source}/a", f"s3://{dest}/b", "--delete", env=cli_env(s3_server), report_path=report_path)

    assert result.returncode == 0, explain(result)
    assert compare_buckets(s3, source, s3, dest, src_prefix="a/", dst_prefix="b/") == []
    assert sorted(list_keys(s3, dest)) == sorted(["kept-outside-b.txt"] + [f"b/{item.key}" for item in inside])
    assert result.report["listed"] == len(inside)
    assert result.report["copied"] == len(inside)
    assert result.report["deleted"] == 0  # --delete only looks under the destination prefix
    assert result.report["source"] == f"s3://{source}/a/"
    assert result.report["destination"] == f"s3://{dest}/b/"


def test_large_objects_server_side_keep_metadata_tags_and_part_layout(s3_server, s3, locked_buckets, report_path):
    """20 MiB above an 8 MiB threshold goes through UploadPartCopy; a multipart source keeps its layout."""
    source, dest = locked_buckets
    described = {
        "ContentType": "application/x-tar",
        "CacheControl": "no-cache",
        "ContentDisposition": 'attachment; filename="big one.tar"',
        "Metadata": {"owner": "ops", "purpose": "large object test"},
    }
    seed(s3, source, [Seed(
        "big/single part.bin", bytes(range(256)) * (20 * MiB // 256), mode="GOVERNANCE", retain_until=in_days(2),
        legal_hold=True, headers={k: v for k, v in described.items() if k != "Metadata"},
        metadata=described["Metadata"], tags={"size": "20MiB", "path": "server side"},
    )])
    multipart_etag = put_multipart(
        s3, source, "big/multi part.bin", 20 * MiB, 5 * MiB, tags={"layout": "4x5MiB"},
        lock=Seed("", b"", mode="COMPLIANCE", retain_until=in_days(3)), **described,
    )
    assert s3.head_object(Bucket=source, Key="big/multi part.bin")["ObjectLockMode"] == "COMPLIANCE"
    multipart_source = object_state(s3, source, "big/multi part.bin")
    assert multipart_source["tags"] and multipart_source["Metadata"] and multipart_source["ContentType"]
    assert multipart_etag.endswith('-4"')
    env = cli_env(s3_server, MULTIPART_THRESHOLD=str(8 * MiB), MULTIPART_CHUNKSIZE=str(5 * MiB))

    first = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert first.returncode == 0, explain(first)
    assert first.report["copied"] == 2
    assert first.report["bytes_copied"] == 40 * MiB
    # moto and RGW ignore lock arguments on CreateMultipartUpload: the read-back set them. RGW copies the
    # multipart source with one CopyObject (it reports no layout, and keeps the ETag), whose COPY directive
    # carries the source's lock: nothing to set on that one.
    assert first.report["lock_set_after_write"] == (1 if s3_server.name == "rgw" else 2)
    assert compare_buckets(s3, source, s3, dest) == []
    dest_etags = etags(s3, dest)
    assert dest_etags["big/multi part.bin"] == multipart_etag
    # Copied with UploadPartCopy in 5 MiB parts: same bytes, a multipart ETag unlike the source's.
    assert dest_etags["big/single part.bin"].endswith('-4"')

    second = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert second.returncode == 0, explain(second)
    assert second.report["copied"] == 0 and second.report["skipped"] == 2
    assert etags(s3, dest) == dest_etags
    assert etags(s3, dest)["big/multi part.bin"] == etags(s3, source)["big/multi part.bin"]


@pytest.mark.parametrize(
    "settings",
    [{}, {"MULTIPART_THRESHOLD": str(8 * MiB), "MULTIPART_CHUNKSIZE": str(5 * MiB)}],
    ids=["copy-object", "multipart-copy"],
)
def test_multipart_object_arrives_with_metadata_and_tags(s3_server, s3, locked_buckets, report_path, settings):
    """Issue 12: a 20 MiB multipart-uploaded object with tags and metadata arrives with both, whichever
    write path carries it (Ceph RGW ignores x-amz-tagging on CreateMultipartUpload); a report that says
    "copied" must be true."""
    source, dest = locked_buckets
    put_multipart(
        s3, source, "big/tagged.bin", 20 * MiB, 5 * MiB, tags={"kind": "big", "size": "20MiB"},
        Metadata={"owner": "ops", "origin": "issue 12"}, ContentType="application/octet-stream",
        CacheControl="no-store", lock=Seed("", b"", mode="GOVERNANCE", retain_until=in_days(2)),
    )
    assert object_state(s3, source, "big/tagged.bin")["tags"] == [("kind", "big"), ("size", "20MiB")]

    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(s3_server, **settings), report_path=report_path)

    assert result.returncode == 0 and result.report["copied"] == 1, explain(result)
    assert compare_buckets(s3, source, s3, dest) == []
    # Ceph RGW ignores x-amz-tagging on CreateMultipartUpload, but reports no part layout and keeps a
    # multipart source's ETag on CopyObject: the object is copied with one CopyObject, whose COPY directive
    # carries the tags. moto honours x-amz-tagging. Metadata and content headers both honour there.
    expected_tags_set = {"rgw": 0, "moto": 0}.get(s3_server.name, result.report["tags_set_after_write"])
    assert result.report["tags_set_after_write"] == expected_tags_set
    assert result.report["metadata_set_after_write"] == 0
    if expected_tags_set:
        assert "tags set after the write (server ignored them): 1" in result.stdout


def test_lock_changes_propagate_without_copying(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    seed(s3, source, [
        Seed("extend.txt", b"extend me", mode="GOVERNANCE", retain_until=in_days(1)),
        Seed("compliance-extend.txt", b"extend me too", mode="COMPLIANCE", retain_until=in_days(1)),
        Seed("hold-on.txt", b"hold me"),
        Seed("hold-off.txt", b"release me", legal_hold=True),
        Seed("untouched.txt", b"stay", mode="GOVERNANCE", retain_until=in_days(1)),
        Seed("upgrade.txt", b"to compliance", mode="GOVERNANCE", retain_until=in_days(1)),
        Seed("lock-later.txt", b"locked after the first run"),
    ])
    env = cli_env(s3_server)
    assert sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path).report["copied"] == 7
    dest_versions = {key: s3.head_object(Bucket=dest, Key=key)["VersionId"] for key in list_keys(s3, dest)}

    s3.put_object_retention(Bucket=source, Key="extend.txt", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": in_days(10)})
    s3.put_object_retention(
        Bucket=source, Key="compliance-extend.txt", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": in_days(20)}
    )
    s3.put_object_legal_hold(Bucket=source, Key="hold-on.txt", LegalHold={"Status": "ON"})
    s3.put_object_legal_hold(Bucket=source, Key="hold-off.txt", LegalHold={"Status": "OFF"})
    s3.put_object_retention(  # a mode change needs the bypass (RGW enforces it, as AWS does)
        Bucket=source, Key="upgrade.txt", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": in_days(5)},
        BypassGovernanceRetention=True,
    )
    s3.put_object_retention(Bucket=source, Key="lock-later.txt", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": in_days(5)})

    result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert result.returncode == 0, explain(result)
    assert result.report["lock_updated"] == 6, explain(result)
    assert result.report["copied"] == 0 and result.report["bytes_copied"] == 0
    assert result.report["skipped"] == 1
    assert compare_buckets(s3, source, s3, dest) == []
    # Applied to the existing versions: no new version was written.
    assert {key: s3.head_object(Bucket=dest, Key=key)["VersionId"] for key in list_keys(s3, dest)} == dest_versions

    again = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)
    assert again.report["lock_updated"] == 0 and again.report["copied"] == 0


def test_shortening_and_downgrade_requests_are_refused_and_reported(s3_server, s3, locked_buckets, report_path):
    """The destination is given a stronger lock than the source by hand; the sync keeps it and says so."""
    source, dest = locked_buckets
    seed(s3, source, [
        Seed("shorter.txt", b"source retention ends first", mode="GOVERNANCE", retain_until=in_days(2)),
        Seed("weaker.txt", b"source asks for GOVERNANCE", mode="GOVERNANCE", retain_until=in_days(2)),
        Seed("fine.txt", b"in step", mode="COMPLIANCE", retain_until=in_days(2)),
    ])
    env = cli_env(s3_server)
    assert sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path).returncode == 0
    longer = in_days(30)
    s3.put_object_retention(Bucket=dest, Key="shorter.txt", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": longer})
    s3.put_object_retention(
        Bucket=dest, Key="weaker.txt", Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer},
        BypassGovernanceRetention=True,
    )

    result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert result.returncode == 0, explain(result)
    assert result.report["failed"] == 0 and result.report["copied"] == 0 and result.report["lock_updated"] == 0
    refusals = {item["key"]: item["reason"] for item in result.report["lock_refusals"]}
    assert set(refusals) == {"shorter.txt", "weaker.txt"}
    assert "shorten_refused" in refusals["shorter.txt"]
    assert "downgrade_refused" in refusals["weaker.txt"]
    for key, mode in (("shorter.txt", "GOVERNANCE"), ("weaker.txt", "COMPLIANCE")):
        head = s3.head_object(Bucket=dest, Key=key)
        assert head["ObjectLockMode"] == mode
        assert head["ObjectLockRetainUntilDate"] == longer
    assert compare_object(s3, source, "fine.txt", s3, dest, "fine.txt") == []


def test_expired_source_retention_is_not_applied_and_counted(s3_server, s3, locked_buckets, report_path):
    """seed() gives the source expired retentions (see its docstring for how, per server)."""
    source, dest = locked_buckets
    past = datetime(2020, 1, 1, tzinfo=timezone.utc)
    seed(s3, source, [
        Seed("expired.txt", b"protected once", mode="COMPLIANCE", retain_until=past),
        Seed("expired-held.txt", b"hold outlives retention", mode="GOVERNANCE", retain_until=past, legal_hold=True),
    ])

    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(s3_server), report_path=report_path)

    assert result.returncode == 0, explain(result)
    assert result.report["copied"] == 2 and result.report["failed"] == 0
    assert result.report["retention_expired"] == 2
    # No retention in force at the destination. (RGW's CopyObject carries the source's expired retention
    # along, whatever the request says; a date in the past protects nothing.)
    assert not _retention_in_force(s3.head_object(Bucket=dest, Key="expired.txt"))
    held = s3.head_object(Bucket=dest, Key="expired-held.txt")
    assert not _retention_in_force(held) and held["ObjectLockLegalHoldStatus"] == "ON"


def _retention_in_force(head: dict) -> bool:
    until = head.get("ObjectLockRetainUntilDate")
    return "ObjectLockMode" in head and until is not None and until > datetime.now(timezone.utc)


def test_delete_places_delete_markers_and_keeps_locked_versions(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    seed(s3, source, [Seed("keep.txt", b"keep")])
    seed(s3, dest, [
        Seed("stale.txt", b"gone from the source"),
        Seed("stale-locked.txt", b"locked, gone from the source", mode="GOVERNANCE", retain_until=in_days(2)),
    ])
    env = cli_env(s3_server)

    without = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)
    assert without.returncode == 0, explain(without)
    assert without.report["deleted"] == 0
    assert sorted(list_keys(s3, dest)) == ["keep.txt", "stale-locked.txt", "stale.txt"]

    result = sync(f"s3://{source}", f"s3://{dest}", "--delete", env=env, report_path=report_path)

    assert result.returncode == 0, explain(result)
    assert result.report["deleted"] == 2
    assert sorted(list_keys(s3, dest)) == ["keep.txt"]
    versions = s3.list_object_versions(Bucket=dest)
    markers = {marker["Key"] for marker in versions.get("DeleteMarkers", ()) if marker["IsLatest"]}
    assert markers == {"stale.txt", "stale-locked.txt"}
    locked = [v for v in versions["Versions"] if v["Key"] == "stale-locked.txt"]
    assert len(locked) == 1
    head = s3.head_object(Bucket=dest, Key="stale-locked.txt", VersionId=locked[0]["VersionId"])
    assert head["ObjectLockMode"] == "GOVERNANCE"


def test_dry_run_writes_nothing_but_counts_everything(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    seed(s3, source, [
        Seed("synced.txt", b"already there", mode="GOVERNANCE", retain_until=in_days(1)),
        Seed("held.txt", b"already there", legal_hold=True),
    ])
    env = cli_env(s3_server)
    assert sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path).report["copied"] == 2
    seed(s3, source, [Seed("new.txt", b"twelve bytes"), Seed("new-locked.txt", b"x", mode="COMPLIANCE", retain_until=in_days(1))])
    seed(s3, dest, [Seed("stale.txt", b"would be deleted")])
    s3.put_object_retention(Bucket=source, Key="synced.txt", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": in_days(9)})
    s3.put_object_legal_hold(Bucket=source, Key="held.txt", LegalHold={"Status": "OFF"})
    before = s3.list_object_versions(Bucket=dest)
    before_locks = {key: _lock_fields(s3, dest, key) for key in list_keys(s3, dest)}

    result = sync(f"s3://{source}", f"s3://{dest}", "--delete", "--dry-run", env=env, report_path=report_path)

    assert result.returncode == 0, explain(result)
    assert result.report["dry_run"] is True
    assert result.report["listed"] == 4
    assert result.report["copied"] == 2
    assert result.report["bytes_copied"] == len(b"twelve bytes") + 1
    assert result.report["lock_updated"] == 2
    assert result.report["deleted"] == 1
    assert "would be copied" in result.stdout
    after = s3.list_object_versions(Bucket=dest)
    assert _version_ids(after) == _version_ids(before)
    assert {key: _lock_fields(s3, dest, key) for key in list_keys(s3, dest)} == before_locks


def test_report_json_fields_match_the_buckets(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    seeds = fixture_set()[:6]
    seed(s3, source, seeds)
    seed(s3, dest, [Seed("extra.txt", b"destination only")])
    started = datetime.now(timezone.utc) - timedelta(seconds=1)

    result = sync(f"s3://{source}", f"s3://{dest}", "--delete", env=cli_env(s3_server), report_path=report_path)

    assert result.returncode == 0, explain(result)
    report = result.report
    for name in ("run_id", "source", "destination", "listed", "copied", "skipped", "lock_updated", "deleted",
                 "failed", "bytes_copied", "failures", "started_at", "finished_at"):
        assert name in report, name
    assert isinstance(report["run_id"], str) and report["run_id"]
    assert report["source"] == f"s3://{source}/" and report["destination"] == f"s3://{dest}/"
    source_objects = list_keys(s3, source)
    dest_objects = list_keys(s3, dest)
    assert report["listed"] == len(source_objects)
    assert report["copied"] == len(dest_objects) == len(source_objects)
    assert report["bytes_copied"] == sum(item["Size"] for item in dest_objects.values())
    assert report["deleted"] == 1 and "extra.txt" not in dest_objects
    assert report["skipped"] == report["lock_updated"] == report["failed"] == 0
    assert report["failures"] == []
    begun = datetime.fromisoformat(report["started_at"])
    ended = datetime.fromisoformat(report["finished_at"])
    assert started <= begun <= ended <= datetime.now(timezone.utc)
    assert report["run_id"] in result.stdout  # the terminal summary names the same run


def _lock_fields(client, bucket: str, key: str) -> tuple:
    head = client.head_object(Bucket=bucket, Key=key)
    return head.get("ObjectLockMode"), head.get("ObjectLockRetainUntilDate"), head.get("ObjectLockLegalHoldStatus")


def _version_ids(listing: dict) -> set[tuple[str, str]]:
    return {(item["Key"], item["VersionId"]) for item in listing.get("Versions", []) + listing.get("DeleteMarkers", [])}


def test_unlocked_buckets_replicate_too(s3_server, s3, report_path):
    """No Object Lock on either side: no lock checks, plain CopyObject pinned with CopySourceIfMatch."""
    source, dest = unique_bucket("plain-src"), unique_bucket("plain-dst")
    create_bucket(s3, source)
    create_bucket(s3, dest)
    seeds = [item for item in fixture_set() if not item.mode and not item.legal_hold]
    seeds += [Seed(f"awkward/{item.key}", item.body, tags=item.tags, headers=item.headers, metadata=item.metadata)
              for item in fixture_set() if item.mode]
    seed(s3, source, seeds)
    env = cli_env(s3_server)

    first = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)
    second = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert first.returncode == 0, explain(first)
    assert first.report["copied"] == len(seeds)
    assert compare_buckets(s3, source, s3, dest) == []
    assert second.report["copied"] == 0 and second.report["skipped"] == len(seeds)


@pytest.mark.parametrize("source_locked", [True, False], ids=["locked-source", "unlocked-source"])
def test_destination_with_default_retention(s3_server, s3, report_path, source_locked):
    """Objects without a lock of their own get the destination bucket's default (S3 semantics); explicit
    source retention wins over it. moto, like S3 for uploads, demands a checksum header on every write
    into such a bucket, CopyObject included, even one without lock arguments."""
    source, dest = unique_bucket("dsrc"), unique_bucket("ddst")
    create_bucket(s3, source, object_lock=source_locked)
    create_bucket(s3, dest, object_lock=True)
    s3.put_object_lock_configuration(Bucket=dest, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}},
    })
    seeds = [Seed("plain.txt", b"no lock of its own", tags={"t": "1"}, metadata={"m": "1"})]
    if source_locked:
        seeds.append(Seed("explicit.txt", b"its own lock", mode="COMPLIANCE", retain_until=in_days(3)))
    seed(s3, source, seeds)
    env = cli_env(s3_server)

    first = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert first.returncode == 0, explain(first)
    assert first.report["copied"] == len(seeds) and first.report["failures"] == [], explain(first)
    plain = s3.head_object(Bucket=dest, Key="plain.txt")
    assert plain["ObjectLockMode"] == "GOVERNANCE"
    assert in_days(0.9) < plain["ObjectLockRetainUntilDate"] <= in_days(1.1)
    assert s3.get_object(Bucket=dest, Key="plain.txt")["Body"].read() == b"no lock of its own"
    if source_locked:
        assert compare_object(s3, source, "explicit.txt", s3, dest, "explicit.txt") == []

    second = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)

    assert second.returncode == 0, explain(second)
    assert second.report["copied"] == 0 and second.report["lock_updated"] == 0
    if source_locked:  # the lock check sees a retention the source does not ask for, and keeps it
        assert [item["key"] for item in second.report["lock_refusals"]] == ["plain.txt"]
        assert "dest_retention_kept" in second.report["lock_refusals"][0]["reason"]


def test_many_small_pages_merge_join_with_delete(s3_server, s3, locked_buckets, report_path):
    """Listing pages of 2 keys on both sides: the merge-join must pair keys across page boundaries."""
    source, dest = locked_buckets
    seeds = [Seed(f"k{index:02d}", f"object {index}".encode(), legal_hold=index % 3 == 0) for index in range(9)]
    seed(s3, source, seeds)
    seed(s3, dest, [
        Seed("a-extra", b"before every source key"),
        Seed("k01", b"object 1"),  # already there, same bytes
        Seed("k02", b"stale bytes"),
        Seed("k05-extra", b"between source keys"),
        Seed("z-extra", b"after every source key"),
    ])

    result = sync(f"s3://{source}", f"s3://{dest}", "--delete", env=cli_env(s3_server, PAGE_SIZE="2"),
                  report_path=report_path)

    assert result.returncode == 0, explain(result)
    assert (result.report["listed"], result.report["copied"], result.report["skipped"]) == (9, 8, 1)
    assert result.report["deleted"] == 3
    assert compare_buckets(s3, source, s3, dest) == []


def test_compare_helper_sees_every_difference(s3, locked_buckets):
    """The comparisons above mean something only if the helper notices each kind of difference."""
    source, dest = locked_buckets
    original = Seed("x", b"same", mode="GOVERNANCE", retain_until=in_days(1), headers={"ContentType": "text/plain"},
                    metadata={"m": "1"}, tags={"t": "1"})
    seed(s3, source, [original])
    seed(s3, dest, [Seed("x", b"diff", mode="COMPLIANCE", retain_until=in_days(2), legal_hold=True,
                         headers={"ContentType": "text/html"}, metadata={"m": "2"}, tags={"t": "2"})])

    differences = compare_object(s3, source, "x", s3, dest, "x")

    fields = {difference.split(": ")[1].split(" ")[0] for difference in differences}
    assert fields == {"bytes", "ContentType", "Metadata", "tags", "lock_mode", "retain_until", "legal_hold"}
    seed(s3, dest, [original])
    assert compare_object(s3, source, "x", s3, dest, "x") == []
