"""Multipart sources of uneven part layouts are written once: a second run over an unchanged source writes no
version, on moto and on Ceph RGW (which does not report a source's layout: HEAD ignores partNumber),
server-side (on RGW one CopyObject, which keeps the source's ETag) and streamed (the layout found from the
bytes it reads), with and without --all-versions. A layout nothing reproduces is reported, never written."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conftest import create_bucket, unique_bucket

from .helpers import cli_env, explain, list_keys, put_parts, sync, version_count


MiB, MB = 1024 * 1024, 1000 * 1000
LAYOUTS = {
    "two-equal.bin": [6 * MiB, 6 * MiB],  # 8 MiB parts give two parts too: the old guess, 8+4 MiB
    "longer-last.bin": [5 * MiB, 5 * MiB, 7 * MiB],  # the last part longer than the others
    "whole-mb.bin": [6 * MB, 6 * MB, MB],  # not a whole number of MiB
}
# Parts of three sizes: no candidate reproduces it. Copied where the server reports the layout (moto: the
# 5+5+2 MiB upload is aborted, each part's size asked) or keeps the ETag on CopyObject (RGW, server-side);
# reported failed, and never written, when RGW is streamed.
ODD = ("odd.bin", [5 * MiB, 6 * MiB, 1 * MiB])


@pytest.fixture(scope="module")
def uneven_sources(request) -> dict:
    """One source bucket per server, filled once: the layouts above, two-equal.bin in two versions."""
    return {}


def source_bucket(server, cache: dict) -> str:
    if server.name not in cache:
        s3 = server.client()
        bucket = create_bucket(s3, unique_bucket("lysrc"), object_lock=True)
        for index, (key, sizes) in enumerate([*LAYOUTS.items(), ODD]):
            put_parts(s3, bucket, key, sizes, seed_value=index)
        put_parts(s3, bucket, "two-equal.bin", LAYOUTS["two-equal.bin"], seed_value=99)
        cache[server.name] = bucket
    return cache[server.name]


@pytest.mark.parametrize("all_versions", [False, True], ids=["current", "all-versions"])
@pytest.mark.parametrize("path", ["server_side", "streamed"])
def test_a_second_run_over_uneven_layouts_writes_nothing(s3_server, uneven_sources, path, all_versions, tmp_path):
    if s3_server.name == "external":
        pytest.skip("the layouts are the suite's servers' concern")
    s3 = s3_server.client()
    source = source_bucket(s3_server, uneven_sources)
    dest = create_bucket(s3, unique_bucket("lydst"), object_lock=True)
    # Another spelling of the same endpoint: the run cannot copy server-side, and streams.
    dest_server = s3_server if path == "server_side" else replace(s3_server, url=s3_server.url.replace("127.0.0.1", "localhost"))
    env = cli_env(s3_server, dest_server)
    options = ("--all-versions",) if all_versions else ()
    odd_reported = s3_server.name == "rgw" and path == "streamed"

    first = sync(f"s3://{source}", f"s3://{dest}", *options, env=env, report_path=tmp_path / "first.json")

    assert first.returncode == (1 if odd_reported else 0), explain(first)
    assert first.report["failed"] == int(odd_reported), explain(first)
    if odd_reported:
        assert "part layout" in str(first.report), explain(first)
    written = version_count(s3, dest)
    assert written == (2 if all_versions else 1) + len(LAYOUTS) - 1 + int(not odd_reported)
    source_etags = {key: item["ETag"] for key, item in list_keys(s3, source).items()}
    dest_etags = {key: item["ETag"] for key, item in list_keys(s3, dest).items()}
    assert dest_etags == {key: etag for key, etag in source_etags.items() if not (odd_reported and key == ODD[0])}

    second = sync(f"s3://{source}", f"s3://{dest}", *options, env=env, report_path=tmp_path / "second.json")

    assert second.report["copied"] == 0, explain(second)
    assert second.report["failed"] == int(odd_reported), explain(second)
    assert version_count(s3, dest) == written
