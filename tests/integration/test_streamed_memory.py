"""A streamed copy holds at most `multipart_chunksize` of an object in memory per part in flight: one
chunk for a single PutObject, two for a multipart copy (the next part is read while the one before it
uploads; docs/design.md: at most 32 × chunksize per process, whatever the concurrency).

Measured with tracemalloc around one streamed copy in this process (the moto servers run in their
own): a 16 MiB single-part object (below the multipart threshold, so one PutObject) and a multipart
source of 2 × 10 MiB parts (its layout kept), with a 5 MiB chunk size. What is larger goes through a
temporary file; the copies stay byte-exact, and the single-part one stays single-part.
"""

from __future__ import annotations

import os
import tracemalloc

import pytest

from bucketsync.run.context import prepare_run
from bucketsync.engine.execute import execute
from bucketsync.core.model import ObjectEntry
from bucketsync.core.plan import PlannedAction
from bucketsync.core.settings import load_settings
from conftest import set_side_env, unique_bucket

from .helpers import MiB, list_keys, put_multipart

CHUNK = 5 * MiB
# What botocore and the reads around the part in flight hold at once, beside that part.
SLACK = 4 * MiB


def peak_bytes_of(work) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = work()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("layout", ["single part, 16 MiB", "2 parts of 10 MiB"])
def test_streamed_copy_memory_stays_within_one_chunk(monkeypatch, moto_server, other_moto_server, s3, layout):
    source, dest = unique_bucket("msrc"), unique_bucket("mdst")
    remote = other_moto_server.client()
    s3.create_bucket(Bucket=source)
    remote.create_bucket(Bucket=dest)
    if layout.startswith("single"):
        body = os.urandom(16 * MiB)
        s3.put_object(Bucket=source, Key="big.bin", Body=body)
        held = CHUNK
    else:
        put_multipart(s3, source, "big.bin", 20 * MiB, 10 * MiB)
        body = s3.get_object(Bucket=source, Key="big.bin")["Body"].read()
        held = 2 * CHUNK  # the next part is read while the one before it uploads
    listed = list_keys(s3, source)["big.bin"]
    set_side_env(monkeypatch, "source", moto_server)
    set_side_env(monkeypatch, "dest", other_moto_server)
    _, ctx = prepare_run(load_settings(multipart_chunksize=CHUNK), f"s3://{source}", f"s3://{dest}")
    assert not ctx.server_side and ctx.settings.multipart_threshold > 16 * MiB
    action = PlannedAction("copy", "big.bin", source=ObjectEntry("big.bin", listed["Size"], listed["ETag"]))

    outcome, peak = peak_bytes_of(lambda: execute(ctx, action))

    assert outcome.status == "copied", outcome
    # At most `held` of the object in memory (plus slack), far below the object: streamed, not read whole.
    assert peak < held + SLACK < len(body), f"peak {peak / MiB:.1f} MiB for a {len(body) // MiB} MiB object"
    assert remote.get_object(Bucket=dest, Key="big.bin")["Body"].read() == body
    assert remote.head_object(Bucket=dest, Key="big.bin")["ETag"] == listed["ETag"]  # the layout is kept
