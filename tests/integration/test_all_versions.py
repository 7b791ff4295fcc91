"""`bucketsync sync --all-versions` (embedded) against each S3 server: whole histories with their locks."""

from __future__ import annotations

import pytest

from conftest import create_bucket, run_cli_in_process, unique_bucket

from .helpers import check_error_exit, cli_env, explain, in_days, run_cli, sync
from .history_helpers import history_shape, put_versions, version_locks


@pytest.fixture
def s3(s3_server):
    return s3_server.client()


@pytest.fixture
def report_path(tmp_path):
    return tmp_path / "report.json"


def test_an_overwritten_compliance_record_arrives_with_every_version_and_lock(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    until = in_days(1)
    put_versions(s3, source, "record", [b"draft", b"final"], ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    put_versions(s3, source, "notes", [b"one", b"two"], Metadata={"m": "1"}, Tagging="t=1")
    s3.delete_object(Bucket=source, Key="notes")
    put_versions(s3, source, "held", [b"held"], ObjectLockLegalHoldStatus="ON")
    env = cli_env(s3_server)

    first = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=report_path)

    assert first.returncode == 0, explain(first)
    report = first.report
    assert (report["listed"], report["copied"], report["delete_markers_copied"]) == (6, 5, 1), explain(first)
    assert report["bytes_copied"] == len(b"draftfinalonetwoheld")
    assert "delete markers copied  1" in first.stdout, explain(first)  # 6 listed: 5 + 1 in the summary too
    assert "not done" not in first.stdout
    assert history_shape(s3, dest) == history_shape(s3, source)
    assert version_locks(s3, dest, "record") == version_locks(s3, source, "record")
    assert [lock["mode"] for lock in version_locks(s3, dest, "record")] == ["COMPLIANCE", "COMPLIANCE"]
    assert version_locks(s3, dest, "held")[0]["legal_hold"] is True
    older_notes = s3.list_object_versions(Bucket=dest, Prefix="notes")["Versions"][-1]
    head = s3.head_object(Bucket=dest, Key="notes", VersionId=older_notes["VersionId"])
    assert head["Metadata"] == {"m": "1"}  # the source's own metadata, nothing added

    second = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=report_path)

    assert second.returncode == 0, explain(second)
    assert (second.report["copied"], second.report["delete_markers_copied"], second.report["lock_updated"]) == (0, 0, 0)
    assert second.report["skipped"] == 6

    put_versions(s3, source, "record", [b"amended"], ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until)
    s3.delete_object(Bucket=source, Key="held")
    oldest = s3.list_object_versions(Bucket=source, Prefix="record")["Versions"][-1]["VersionId"]
    s3.put_object_legal_hold(Bucket=source, Key="record", VersionId=oldest, LegalHold={"Status": "ON"})

    third = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=report_path)

    assert third.returncode == 0, explain(third)
    assert (third.report["copied"], third.report["delete_markers_copied"]) == (1, 1), explain(third)
    assert third.report["lock_updated"] == 1  # the noncurrent draft's new legal hold
    assert history_shape(s3, dest) == history_shape(s3, source)
    assert version_locks(s3, dest, "record") == version_locks(s3, source, "record")
    assert version_locks(s3, dest, "record")[0]["legal_hold"] is True


def test_after_current_only_runs_the_history_is_written_again_on_top(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    put_versions(s3, source, "doc", [b"v1", b"v2", b"v3"])
    env = cli_env(s3_server)
    current_only = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=report_path)
    assert current_only.returncode == 0, explain(current_only)

    first = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=report_path)

    assert first.returncode == 0, explain(first)
    assert first.report["copied"] == 3 and first.report["versions_rewritten"] == 1, explain(first)
    [named] = first.report["rewritten_versions"]
    assert named["key"] == "doc" and named["version_id"]
    assert history_shape(s3, dest)["doc"]["versions"] == ["v3", "v1", "v2", "v3"]  # the older copy stays beneath
    assert history_shape(s3, dest)["doc"]["latest"] == "v3"

    second = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=report_path)

    assert second.returncode == 0, explain(second)
    assert (second.report["copied"], second.report["versions_rewritten"]) == (0, 0), explain(second)
    assert second.report["versions_kept"] == 1  # the old copy beneath, matched by nothing, never deleted


def test_a_history_spanning_listing_pages(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    put_versions(s3, source, "a", [b"a1"])
    put_versions(s3, source, "long", [b"l1", b"l2", b"l3", b"l4", b"l5"])
    s3.delete_object(Bucket=source, Key="long")
    put_versions(s3, source, "z", [b"z1", b"z2"])
    env = cli_env(s3_server, page_size="2")

    first = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=report_path)

    assert first.returncode == 0, explain(first)
    assert (first.report["listed"], first.report["copied"], first.report["delete_markers_copied"]) == (9, 8, 1)
    assert history_shape(s3, dest) == history_shape(s3, source)
    second = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=report_path)
    assert (second.report["copied"], second.report["delete_markers_copied"], second.report["skipped"]) == (0, 0, 9)


def test_filters_take_whole_histories_in_or_out_on_both_sides(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    put_versions(s3, source, "a.txt", [b"a1", b"a2"])
    put_versions(s3, source, "logs/1.log", [b"l1", b"l2"])
    s3.delete_object(Bucket=source, Key="logs/1.log")
    put_versions(s3, source, "logs/2.log", [b"m1", b"m2"])
    put_versions(s3, source, "logs/keep/x.txt", [b"k1", b"k2"])
    put_versions(s3, source, "z.txt", [b"z1", b"z2"])
    s3.delete_object(Bucket=source, Key="z.txt")
    put_versions(s3, dest, "logs/1.log", [b"other"])  # excluded: never compared, so never written over
    put_versions(s3, dest, "logs/old.log", [b"old"])  # excluded: --delete leaves it visible, not counted as kept
    put_versions(s3, dest, "stale.txt", [b"s1"])  # included, not in the source: --delete hides it
    dest_before = history_shape(s3, dest)
    filters = ("--exclude", "logs/*", "--include", "logs/keep/*", "--delete")
    env = cli_env(s3_server, page_size="2")  # histories, excluded ones too, span listing pages

    first = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", *filters, env=env, report_path=report_path)

    assert first.returncode == 0, explain(first)
    report = first.report
    counts = ("listed", "excluded", "copied", "delete_markers_copied", "deleted", "versions_kept", "versions_rewritten")
    # listed: a.txt 2 + logs/keep/x.txt 2 + z.txt 2 and its marker; excluded: logs/1.log 2 + marker, logs/2.log 2
    assert {name: report[name] for name in counts} == {
        "listed": 7, "excluded": 5, "copied": 6, "delete_markers_copied": 1, "deleted": 1, "versions_kept": 1,
        "versions_rewritten": 0,
    }, explain(first)
    source_shape, dest_shape = history_shape(s3, source), history_shape(s3, dest)
    for key in ("a.txt", "logs/keep/x.txt", "z.txt"):
        assert dest_shape[key] == source_shape[key], key
    for key in ("logs/1.log", "logs/old.log"):
        assert dest_shape[key] == dest_before[key], key
    assert "logs/2.log" not in dest_shape
    assert dest_shape["stale.txt"] == {"versions": ["s1"], "markers": 1, "latest": "DM"}

    second = sync(f"s3://{source}", f"s3://{dest}", "--all-versions", *filters, env=env, report_path=report_path)

    assert second.returncode == 0, explain(second)
    again = second.report
    assert (again["listed"], again["excluded"], again["skipped"]) == (7, 5, 7), explain(second)
    assert (again["copied"], again["delete_markers_copied"], again["deleted"], again["versions_rewritten"]) == (0, 0, 0, 0)
    assert history_shape(s3, dest) == dest_shape


@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)
def test_a_destination_without_versioning_is_refused(s3_server, s3, report_path):
    source, dest = unique_bucket("src"), unique_bucket("dst")
    create_bucket(s3, source)
    s3.put_bucket_versioning(Bucket=source, VersioningConfiguration={"Status": "Enabled"})
    create_bucket(s3, dest)
    put_versions(s3, source, "k", [b"1", b"2"])

    done = run_cli("sync", f"s3://{source}", f"s3://{dest}", "--all-versions", env=cli_env(s3_server))

    check_error_exit(done, "versioning", dest)
    assert s3.list_object_versions(Bucket=dest).get("Versions", []) == []


@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)
def test_the_setting_turns_it_on(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    put_versions(s3, source, "k", [b"1", b"2"])
    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(s3_server, all_versions="true"), report_path=report_path)
    assert result.returncode == 0, explain(result)
    assert result.report["copied"] == 2
    assert history_shape(s3, dest) == history_shape(s3, source)


def test_verify_compares_whole_histories(s3_server, s3, locked_buckets, report_path):
    source, dest = locked_buckets
    put_versions(s3, source, "doc", [b"v1", b"v2", b"v3"], Metadata={"m": "1"})
    s3.delete_object(Bucket=source, Key="doc")
    put_versions(s3, source, "other", [b"o1", b"o2"])
    env = cli_env(s3_server)
    assert sync(f"s3://{source}", f"s3://{dest}", "--all-versions", env=env, report_path=report_path).returncode == 0

    clean = run_cli_in_process("verify", f"s3://{source}", f"s3://{dest}", "--all-versions", "--json", env=env)

    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert '"difference_count": 0' in clean.stdout and '"source_objects": 6' in clean.stdout

    middle = [v for v in s3.list_object_versions(Bucket=dest, Prefix="doc")["Versions"] if v["Key"] == "doc"][1]
    s3.delete_object(Bucket=dest, Key="doc", VersionId=middle["VersionId"])  # v2's copy, gone for good
    oldest = s3.list_object_versions(Bucket=source, Prefix="other")["Versions"][-1]["VersionId"]
    s3.put_object_legal_hold(Bucket=source, Key="other", VersionId=oldest, LegalHold={"Status": "ON"})

    found = run_cli_in_process("verify", f"s3://{source}", f"s3://{dest}", "--all-versions", env=env)

    assert found.returncode == 1, found.stdout + found.stderr
    assert "'doc': missing version differs" in found.stdout
    assert f"'other': legal_hold of version {oldest} differs" in found.stdout
