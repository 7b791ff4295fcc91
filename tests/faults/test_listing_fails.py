"""A listing that fails midway ends an embedded run as it ends a distributed one: state `failed`, the
error, the counts of what was done before it, the JSON report written, exit 2."""

from __future__ import annotations

from conftest import unique_bucket
from tests.integration.helpers import Seed, cli_env, explain, list_keys, seed, sync

from .conftest import through


def test_embedded_run_whose_source_listing_fails_midway_writes_a_failed_report(moto_server, s3, proxy, tmp_path):
    source, dest = unique_bucket("lfsrc"), unique_bucket("lfdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    seed(s3, source, [Seed(f"k{n:02d}", b"x" * n) for n in range(12)])
    # The source's second listing page is refused (AccessDenied is not retried): the listing cannot go on.
    proxy.on(
        lambda request: request.operation == "ListObjectsV2" and request.bucket == source
        and "continuation-token" in request.query,
        "error", times=None, error=(403, "AccessDenied", "Access Denied"),
    )
    report_path = tmp_path / "report.json"

    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(through(proxy, moto_server), page_size="5"),
                  report_path=report_path)

    assert result.returncode == 2, explain(result)
    assert result.report is not None, "the report must be written when the run fails: " + explain(result)
    assert result.report["state"] == "failed"
    assert "listing" in result.report["error"] and "AccessDenied" in result.report["error"]
    assert result.report["listed"] == 5
    assert result.report["copied"] == 5 and result.report["bytes_copied"] == sum(range(5))
    assert sorted(list_keys(s3, dest)) == [f"k{n:02d}" for n in range(5)]
    assert "RUN FAILED" in result.stdout
    assert not list(tmp_path.glob("*.tmp"))
