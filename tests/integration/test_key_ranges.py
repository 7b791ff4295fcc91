"""An embedded run lists its key space in ranges at once (BUCKETSYNC_LISTING_RANGES), on moto and Ceph RGW:
flat hash-named keys and keys under prefixes, with --delete and filters, replicate exactly as in one stream,
and the run's requests show the ranges were listed."""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor

import pytest

from bucketsync.cli import DEBUG_VARIABLE
from conftest import create_bucket, unique_bucket
from tests.integration.helpers import cli_env, compare_buckets, explain, list_keys, sync

FLAT = [hashlib.sha1(str(n).encode()).hexdigest() for n in range(45)]
PREFIXED = [f"q{n % 9:02d}/part-{n:03d}" for n in range(45)]
NESTED = [f"t/2026/11/29/part-{n:03d}" for n in range(120)]  # too deep for the first cut: one range


@pytest.fixture
def s3(s3_server):
    return s3_server.client()


def seeded_pair(s3, keys: list[str]) -> tuple[str, str]:
    source, dest = unique_bucket("rsrc"), unique_bucket("rdst")
    create_bucket(s3, source)
    create_bucket(s3, dest)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=source, Key=key, Body=key.encode()), keys))
    # the destination: a third already in place, a few changed, a few it alone holds
    for key in keys[::3]:
        s3.put_object(Bucket=dest, Key=key, Body=key.encode())
    for key in keys[1:12:5]:
        s3.put_object(Bucket=dest, Key=key, Body=b"changed")
    for extra in ("zz-only-at-dest", "q04/zz-only-at-dest", "00-only-at-dest"):
        s3.put_object(Bucket=dest, Key=extra, Body=b"x")
    return source, dest


@pytest.mark.parametrize("keys", [FLAT, PREFIXED], ids=["flat", "prefixed"])
def test_ranges_replicate_exactly_what_one_stream_does(s3_server, s3, tmp_path, keys):
    source, dest = seeded_pair(s3, keys)
    env = cli_env(s3_server, page_size="3", listing_ranges="4", concurrency="4")  # ~15 pages: 3 or 4 ranges
    result = sync(f"s3://{source}", f"s3://{dest}", "--delete", env={**env, DEBUG_VARIABLE: "1"},
                  report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    assert re.search(r"listing [234] key ranges at once", result.stderr), result.stderr
    assert compare_buckets(s3, source, s3, dest) == []
    report = result.report
    in_place = len(keys[::3]) - len([key for key in keys[1:12:5] if key in keys[::3]])
    assert (report["listed"], report["skipped"], report["copied"], report["deleted"]) == (
        len(keys), in_place, len(keys) - in_place, 3)

    again = sync(f"s3://{source}", f"s3://{dest}", "--delete", env=env, report_path=tmp_path / "r2.json")
    assert (again.report["listed"], again.report["skipped"], again.report["copied"]) == (len(keys), len(keys), 0)


@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)  # the ranges themselves run on RGW above
def test_filters_apply_in_every_range(s3_server, s3, tmp_path):
    source, dest = seeded_pair(s3, PREFIXED)
    env = cli_env(s3_server, page_size="3", listing_ranges="3")
    result = sync(f"s3://{source}", f"s3://{dest}", "--exclude", "q0[2-6]/*", "--include", "q04/part-00*",
                  "--delete", env={**env, DEBUG_VARIABLE: "1"}, report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    assert re.search(r"listing [23] key ranges at once", result.stderr), result.stderr
    included = [key for key in PREFIXED if not key[:3] in {"q02", "q03", "q05", "q06"}
                and (not key.startswith("q04/") or key.startswith("q04/part-00"))]
    held = list_keys(s3, dest)
    assert all(key in held for key in included)
    assert "q04/zz-only-at-dest" in held  # excluded: never deleted
    assert "zz-only-at-dest" not in held and "00-only-at-dest" not in held
    assert result.report["listed"] == len(included)


@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)  # 36 s on RGW; its ranges are tested above
def test_keys_too_deep_for_the_first_cut_are_listed_in_one_range_once(s3_server, s3, tmp_path):
    source, dest = seeded_pair(s3, NESTED)
    env = cli_env(s3_server, page_size="3", listing_ranges="4", concurrency="4")  # 40 pages, one range
    result = sync(f"s3://{source}", f"s3://{dest}", "--delete", env={**env, DEBUG_VARIABLE: "1"},
                  report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result)
    assert "key ranges at once" not in result.stderr
    assert compare_buckets(s3, source, s3, dest) == []
    in_place = len(NESTED[::3]) - len([key for key in NESTED[1:12:5] if key in NESTED[::3]])
    report = result.report
    assert (report["listed"], report["skipped"], report["copied"], report["deleted"]) == (
        len(NESTED), in_place, len(NESTED) - in_place, 3)

    again = sync(f"s3://{source}", f"s3://{dest}", "--delete", env=env, report_path=tmp_path / "r2.json")
    assert (again.report["listed"], again.report["skipped"], again.report["copied"]) == (len(NESTED), len(NESTED), 0)
