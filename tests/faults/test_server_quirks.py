"""Server quirks are decided once, before the first copy, and never patched into a client in use.

moto rejects a CopyObject that sets Object Lock unless it declares a checksum algorithm
(`MissingUploadObjectWithObjectLockHeaders`); AWS needs no such declaration and some servers refuse
headers they do not know. The run asks the destination once (a copy that writes nothing) and builds
its destination client accordingly: every copy of the run is sent right the first time, from every
thread, and a server that does not ask never sees the header.
"""

from __future__ import annotations

from bucketsync.run.context import prepare_run
from bucketsync.run.embedded import run_embedded
from bucketsync.core.settings import load_settings
from conftest import set_side_env, unique_bucket
from tests.integration.helpers import Seed, compare_buckets, in_days, seed

from .conftest import through

PROBE_PREFIX = "bucketsync-quirk-probe-"
CHECKSUM_DECLARATION = "x-amz-sdk-checksum-algorithm"


def prepare(monkeypatch, server, source: str, dest: str):
    set_side_env(monkeypatch, "source", server)
    set_side_env(monkeypatch, "dest", server)
    return prepare_run(load_settings(concurrency=8), f"s3://{source}", f"s3://{dest}")


def copies(proxy) -> list:
    return [e for e in proxy.exchanges if e.request.operation == "CopyObject" and not (e.request.key or "").startswith(PROBE_PREFIX)]


def test_every_locked_copy_is_sent_right_the_first_time(monkeypatch, moto_server, s3, proxy, locked_buckets):
    source, dest = locked_buckets
    seeds = [Seed(f"locked/{n:02d}", f"body {n}".encode(), mode="GOVERNANCE", retain_until=in_days(1)) for n in range(12)]
    seed(s3, source, seeds)
    request, ctx = prepare(monkeypatch, through(proxy, moto_server), source, dest)

    summary = run_embedded(ctx, request)

    assert (summary.copied, summary.failed) == (len(seeds), 0)
    sent = copies(proxy)
    assert [e.status for e in sent] == [200] * len(seeds), "a copy was rejected and sent again"
    assert all(e.request.headers.get(CHECKSUM_DECLARATION) == "CRC32" for e in sent)
    probes = [e for e in proxy.exchanges if (e.request.key or "").startswith(PROBE_PREFIX)]
    assert [(e.request.operation, e.status) for e in probes] == [("CopyObject", 400)]  # asked once, before any copy
    assert proxy.exchanges.index(probes[0]) < proxy.exchanges.index(sent[0])
    assert compare_buckets(s3, source, s3, dest) == []  # the probe wrote nothing


def test_a_server_that_does_not_ask_never_sees_the_declaration(monkeypatch, moto_server, s3, proxy):
    """The probe answered as S3 answers it (NoSuchKey): copies go without the header."""
    source, dest = unique_bucket("qsrc"), unique_bucket("qdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    seed(s3, source, [Seed(f"plain/{n}", b"x" * n) for n in range(5)])
    proxy.on(lambda r: r.operation == "CopyObject" and (r.key or "").startswith(PROBE_PREFIX), "error",
             error=(404, "NoSuchKey", "The specified key does not exist."))
    request, ctx = prepare(monkeypatch, through(proxy, moto_server), source, dest)

    summary = run_embedded(ctx, request)

    assert (summary.copied, summary.failed) == (5, 0)
    sent = copies(proxy)
    assert len(sent) == 5 and all(CHECKSUM_DECLARATION not in e.request.headers for e in sent)
