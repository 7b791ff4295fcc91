"""--exclude / --include on Celery workers: the coordinator plans only included keys, skips a wholly excluded
prefix (its next page task carries StartAfter instead of a continuation token), and counts as the
embedded run does."""

from __future__ import annotations

import json

import redis

from conftest import create_bucket, unique_bucket
from tests.integration.helpers import explain, list_keys, sync

# The workers list pages of 40 keys (tests/distributed/conftest.py).
LOGS = [f"logs/{n:03d}.log" for n in range(130)]
KEYS = ["a.txt", *LOGS, "logs/keep/x.txt", *(f"z/{n:02d}.txt" for n in range(50))]


def buckets(s3) -> tuple[str, str]:
    source, dest = unique_bucket("dfsrc"), unique_bucket("dfdst")
    create_bucket(s3, source)
    create_bucket(s3, dest)
    for key in KEYS:
        s3.put_object(Bucket=source, Key=key, Body=key.encode())
    s3.put_object(Bucket=dest, Key="logs/old.log", Body=b"left alone")
    s3.put_object(Bucket=dest, Key="stale.txt", Body=b"deleted")
    return source, dest


def test_filtered_distributed_run_skips_the_excluded_prefix_and_counts_as_embedded(s3, workers, tmp_path):
    source, dest = buckets(s3)
    options = ("--exclude", "logs/*", "--delete")
    distributed = sync(f"s3://{source}", f"s3://{dest}", *options, env=workers.env, report_path=tmp_path / "d.json")
    assert distributed.returncode == 0, explain(distributed) + workers.log_text()
    wanted = ["a.txt", "logs/old.log", *(f"z/{n:02d}.txt" for n in range(50))]
    assert sorted(list_keys(s3, dest)) == wanted
    report = distributed.report
    assert (report["listed"], report["copied"], report["deleted"]) == (51, 51, 1)
    # Page 0 (40 keys: a.txt and 39 logs) ends inside logs/: page 1 starts after the prefix, so the other
    # 91 keys of logs/ are never listed.
    assert report["excluded"] == 39

    client = redis.Redis.from_url(workers.broker_url, decode_responses=True)
    pages = client.hgetall(f"bucketsync:run:{report['run_id']}:page_summaries")
    # One stream (about 5 pages are not worth cutting into ranges): not 5 pages, logs/ was skipped.
    assert len([name for name in pages if name.startswith("listed:")]) == 3
    assert json.loads(pages["listed:0"])["excluded"] == 39

    embedded_dest = unique_bucket("dfemb")
    create_bucket(s3, embedded_dest)
    embedded_env = {k: v for k, v in workers.env.items() if k != "BUCKETSYNC_BROKER_URL"}
    embedded = sync(f"s3://{source}", f"s3://{embedded_dest}", *options, env=embedded_env,
                    report_path=tmp_path / "e.json")
    assert embedded.returncode == 0, explain(embedded)
    same = ("listed", "excluded", "copied", "skipped", "failed")
    assert {name: embedded.report[name] for name in same} == {name: report[name] for name in same}

    again = sync(f"s3://{source}", f"s3://{dest}", *options, env=workers.env, report_path=tmp_path / "d2.json")
    assert again.returncode == 0, explain(again)
    assert (again.report["copied"], again.report["deleted"], again.report["skipped"]) == (0, 0, 51)


def test_an_include_after_the_exclude_keeps_keys_under_the_prefix(s3, workers, tmp_path):
    source, dest = buckets(s3)
    result = sync(f"s3://{source}", f"s3://{dest}", "--exclude", "logs/*", "--include", "logs/keep/*",
                  env=workers.env, report_path=tmp_path / "d.json")
    assert result.returncode == 0, explain(result) + workers.log_text()
    assert "logs/keep/x.txt" in list_keys(s3, dest)
    assert result.report["excluded"] == 130  # no skip possible: every key under logs/ was listed
