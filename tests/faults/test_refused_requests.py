"""A server that refuses an optional request never fails the run: the listing that decides key ranges
(ListObjectsV2 with Delimiter "/": moto with signature checks answers SignatureDoesNotMatch to it, an IAM
`s3:delimiter` condition refuses it) is refused here by the proxy, and both modes list in one range."""

from __future__ import annotations

import pytest

from conftest import unique_bucket
from tests.integration.helpers import Seed, cli_env, compare_buckets, explain, seed, sync

from .conftest import through


KEYS = 30


def refuse_delimiter_listings(proxy, bucket: str) -> None:
    proxy.on(
        lambda request: request.operation == "ListObjectsV2" and request.bucket == bucket and "delimiter" in request.query,
        "error", times=None, error=(403, "SignatureDoesNotMatch", "The request signature we calculated does not match"),
    )


def refused(proxy, bucket: str) -> bool:
    return any(e.request.bucket == bucket and "delimiter" in e.request.query and e.status == 403 for e in proxy.exchanges)


def seeded_pair(s3) -> tuple[str, str]:
    source, dest = unique_bucket("rdsrc"), unique_bucket("rddst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    seed(s3, source, [Seed(f"d{n % 3}/k{n:02d}", b"x" * n) for n in range(KEYS)])
    return source, dest


def test_embedded_run_lists_in_one_range_when_the_delimiter_listing_is_refused(moto_server, s3, proxy, tmp_path):
    source, dest = seeded_pair(s3)
    refuse_delimiter_listings(proxy, source)
    env = cli_env(through(proxy, moto_server), page_size="3", listing_ranges="4", debug="1")
    result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "report.json")
    assert result.returncode == 0, explain(result)
    assert result.report["copied"] == KEYS
    assert "refused the listing that cuts key ranges" in result.stderr + result.stdout
    assert refused(proxy, source)
    assert compare_buckets(s3, source, s3, dest) == []


def test_distributed_run_lists_in_one_range_when_the_delimiter_listing_is_refused(s3, proxy, proxied_workers, tmp_path):
    source, dest = seeded_pair(s3)
    refuse_delimiter_listings(proxy, source)
    env = {**proxied_workers.env, "BUCKETSYNC_LISTING_RANGES": "4", "BUCKETSYNC_PAGE_SIZE": "3"}
    result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "report.json")
    assert result.returncode == 0, explain(result) + proxied_workers.log_text()
    assert result.report["mode"] == "distributed" and result.report["copied"] == KEYS
    assert refused(proxy, source)
    assert compare_buckets(s3, source, s3, dest) == []
