"""A server whose listings give ETags without their quotes (`<ETag>abc…</ETag>`) while HEAD quotes them.

The proxy rewrites the source's ListObjectsV2 answers that way. An ETag is the same with or without
quotes: the run must neither report the objects as changed since listing nor copy them again when
their locks are checked on the next run.
"""

from __future__ import annotations

import re

from bucketsync.run.context import prepare_run
from bucketsync.run.embedded import run_embedded
from bucketsync.core.settings import load_settings
from conftest import set_side_env
from tests.integration.helpers import Seed, compare_buckets, in_days, put_multipart, seed

from .conftest import MULTIPART, MiB, through

QUOTED_ETAG = re.compile(rb"<ETag>(?:\"|&quot;|&#34;)(.*?)(?:\"|&quot;|&#34;)</ETag>")


def unquote_listed_etags(proxy, bucket: str) -> None:
    def rewrite(request, response) -> None:
        response.body = QUOTED_ETAG.sub(rb"<ETag>\1</ETag>", response.body)

    proxy.on(lambda r: r.operation == "ListObjectsV2" and r.bucket == bucket, times=None, after=rewrite)


def run(monkeypatch, server, source: str, dest: str):
    set_side_env(monkeypatch, "source", server)
    set_side_env(monkeypatch, "dest", server)
    request, ctx = prepare_run(load_settings(**MULTIPART), f"s3://{source}", f"s3://{dest}")
    return run_embedded(ctx, request)


def test_unquoted_listing_etags_are_the_same_etags(monkeypatch, moto_server, s3, proxy, locked_buckets):
    source, dest = locked_buckets
    seed(s3, source, [
        Seed("locked.txt", b"locked", mode="GOVERNANCE", retain_until=in_days(1)),
        Seed("held.txt", b"held", legal_hold=True),
        Seed("plain.txt", b"plain"),
    ])
    put_multipart(s3, source, "parts.bin", 6 * MiB, 5 * MiB)
    unquote_listed_etags(proxy, source)
    listed = through(proxy, moto_server).client().list_objects_v2(Bucket=source)["Contents"]
    assert listed and not any(item["ETag"].startswith('"') for item in listed)  # the rewrite works

    first = run(monkeypatch, through(proxy, moto_server), source, dest)

    assert (first.copied, first.failed, first.changed_since_listing) == (4, 0, 0), first
    assert compare_buckets(s3, source, s3, dest) == []

    second = run(monkeypatch, through(proxy, moto_server), source, dest)

    assert (second.copied, second.skipped, second.failed, second.changed_since_listing) == (0, 4, 0, 0), second
