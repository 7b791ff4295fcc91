"""Every failure explained: the report names the source version a failure concerned, and a source that
keeps moving during a multipart copy ends as a failure with its reason, never as a mixed object."""

from __future__ import annotations

import os

from bucketsync.run.context import prepare_run
from bucketsync.run.embedded import run_embedded
from bucketsync.core.settings import load_settings
from conftest import set_side_env, unique_bucket
from tests.integration.helpers import cli_env, explain, sync

from .conftest import MiB


def test_a_failure_names_the_source_version(moto_server, s3, tmp_path):
    source, dest = unique_bucket("fsrc"), unique_bucket("fdst")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=source, Key="warm.txt", Body=b"warm")
    cold = s3.put_object(Bucket=source, Key="cold.txt", Body=b"cold", StorageClass="GLACIER")

    result = sync(f"s3://{source}", f"s3://{dest}", env=cli_env(moto_server), report_path=tmp_path / "r.json")

    assert result.returncode == 1, explain(result)
    [failure] = result.report["failures"]
    assert failure["key"] == "cold.txt" and failure["version_id"] == cold["VersionId"]
    assert "ObjectNotInActiveTierError" in failure["reason"]


def test_a_source_overwritten_again_during_its_copy_fails_with_the_reason(monkeypatch, moto_server, s3):
    """Unversioned source: every part copy is followed by an overwrite, so the copy of the newer
    version meets a newer one still. The engine gives up on that object, says why, writes no mix."""
    source, dest = unique_bucket("fsrc"), unique_bucket("fdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    s3.put_object(Bucket=source, Key="restless.bin", Body=os.urandom(6 * MiB))
    s3.put_object(Bucket=source, Key="calm.txt", Body=b"calm")
    for side in ("source", "dest"):
        set_side_env(monkeypatch, side, moto_server)
    settings = load_settings(multipart_threshold=5 * MiB, multipart_chunksize=5 * MiB)
    request, ctx = prepare_run(settings, f"s3://{source}", f"s3://{dest}")

    def overwrite(**_):
        s3.put_object(Bucket=source, Key="restless.bin", Body=os.urandom(6 * MiB))

    ctx.dest_client.meta.events.register("after-call.s3.UploadPartCopy", overwrite)

    summary = run_embedded(ctx, request)

    assert (summary.copied, summary.failed, summary.vanished) == (1, 1, 0)
    [failure] = summary.failures
    assert failure["key"] == "restless.bin" and "overwritten again" in failure["reason"]
    assert [item["Key"] for item in s3.list_objects_v2(Bucket=dest)["Contents"]] == ["calm.txt"]
    assert s3.list_multipart_uploads(Bucket=dest).get("Uploads", []) == []  # both attempts aborted
