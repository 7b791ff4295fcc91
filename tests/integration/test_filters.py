"""--exclude / --include on real runs against moto: what is copied, what --delete leaves alone, the report's
`excluded`, and the listing that skips a wholly excluded prefix."""

from __future__ import annotations

from conftest import create_bucket, run_cli, unique_bucket
from tests.integration.helpers import cli_env, explain, list_keys, sync

SOURCE_KEYS = ["a.txt", "data/b.csv", *(f"logs/{n:02d}.log" for n in range(30)), "logs/keep/x.txt", "z.txt"]


def make_buckets(s3, *, object_lock: bool = False) -> tuple[str, str]:
    source, dest = unique_bucket("fsrc"), unique_bucket("fdst")
    create_bucket(s3, source, object_lock=object_lock)
    create_bucket(s3, dest, object_lock=object_lock)
    for key in SOURCE_KEYS:
        s3.put_object(Bucket=source, Key=key, Body=key.encode())
    s3.put_object(Bucket=dest, Key="logs/old.log", Body=b"kept: excluded at the destination")
    s3.put_object(Bucket=dest, Key="stale.txt", Body=b"deleted: included and not in the source")
    return source, dest


def test_excluded_keys_are_neither_copied_nor_deleted(s3, moto_server, tmp_path):
    source, dest = make_buckets(s3, object_lock=True)
    env = cli_env(moto_server, page_size="5")
    result = sync(f"s3://{source}", f"s3://{dest}", "--exclude", "logs/*", "--include", "logs/keep/*", "--delete",
                  env=env, report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    assert sorted(list_keys(s3, dest)) == ["a.txt", "data/b.csv", "logs/keep/x.txt", "logs/old.log", "z.txt"]
    report = result.report
    assert (report["listed"], report["excluded"], report["copied"], report["deleted"]) == (4, 30, 4, 1)
    assert "excluded      30" in result.stdout

    again = sync(f"s3://{source}", f"s3://{dest}", "--exclude", "logs/*", "--include", "logs/keep/*", "--delete",
                 env=env, report_path=tmp_path / "r2.json")
    assert again.returncode == 0, explain(again)
    # lock-enabled source: every included key is lock-checked, no excluded one
    assert (again.report["listed"], again.report["skipped"], again.report["copied"]) == (4, 4, 0)
    assert again.report["deleted"] == 0 and "logs/old.log" in list_keys(s3, dest)


def test_the_last_matching_filter_wins(s3, moto_server, tmp_path):
    source, dest = make_buckets(s3)
    result = sync(f"s3://{source}", f"s3://{dest}", "--include", "logs/keep/*", "--exclude", "logs/*",
                  env=cli_env(moto_server), report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    copied = sorted(key for key in list_keys(s3, dest) if key not in ("logs/old.log", "stale.txt"))
    assert copied == ["a.txt", "data/b.csv", "z.txt"]
    assert result.report["excluded"] == 31


def test_a_wholly_excluded_prefix_is_skipped_and_what_follows_it_copied(s3, moto_server, tmp_path):
    source, dest = make_buckets(s3)
    result = sync(f"s3://{source}", f"s3://{dest}", "--exclude", "logs/*", "--dry-run",
                  env=cli_env(moto_server, page_size="5"), report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    assert result.report["copied"] == 3  # a.txt, data/b.csv, z.txt
    # Pages of 5: a.txt, data/b.csv and three logs/ keys; then StartAfter past logs/, so the other 28 keys
    # under it are never listed (and so not counted).
    assert result.report["excluded"] == 3


def test_filters_in_an_s3_prefix_run_are_relative_to_it(s3, moto_server, tmp_path):
    source, dest = make_buckets(s3)
    for key in ("in/logs/1.log", "in/keep.txt"):
        s3.put_object(Bucket=source, Key=key, Body=b"x")
    result = sync(f"s3://{source}/in/", f"s3://{dest}/out/", "--exclude", "logs/*",
                  env=cli_env(moto_server), report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    assert sorted(list_keys(s3, dest, "out/")) == ["keep.txt"]


def test_a_filter_without_a_pattern_is_a_usage_error(moto_server):
    done = run_cli("sync", "s3://some-bucket", "s3://other-bucket", "--exclude", env=cli_env(moto_server))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "--exclude" in done.stderr

