"""Source credentials that cannot read lock state: the run refuses in preflight (exit 2) instead of
copying objects without their locks.

S3 answers such credentials' HeadObject without the lock fields, silently, and their lock reads with
403 AccessDenied. moto cannot enforce those IAM permissions (it authorises ?retention and ?legal-hold
reads as s3:GetObject), so:
- the decision (preflight.lock_read_refusal, a pure function) is tested with recorded real answers in
  tests/unit/test_lock_read_refusal.py: moto's own (HEAD, legal hold, its 500 for GetObjectRetention)
  and S3's (AccessDenied, a HEAD without lock fields, NoSuchObjectLockConfiguration), all parsed by
  botocore from the wire (tests/faults/recorded/lock_probe.json, re-recorded by
  `python -m tests.faults.record_lock_probe`);
- a live test records the same answers again and checks the recording still holds;
- end to end, the proxy answers as S3 would for such credentials, and `bucketsync sync` and
  `bucketsync verify` exit 2 with one line, having written nothing.
"""

from __future__ import annotations

import json

import pytest

from bucketsync.core.locations import Location
from bucketsync.run.preflight import lock_read_refusal, probe_lock_reads
from bucketsync.engine.s3 import make_client
from bucketsync.core.settings import load_settings
from conftest import run_cli, unique_bucket
from tests.integration.helpers import Seed, check_error_exit, cli_env, in_days, list_keys, seed

from .conftest import through
from .record_lock_probe import LOCK_HEADERS, RECORDED, record

ANSWERS = json.loads(RECORDED.read_text(encoding="utf-8"))


def deny_lock_reads(proxy, bucket: str) -> None:
    """Answer as S3 does for credentials without s3:GetObjectRetention / s3:GetObjectLegalHold."""
    proxy.on(lambda r: r.bucket == bucket and r.operation in ("GetObjectRetention", "GetObjectLegalHold"),
             "error", times=None, error=(403, "AccessDenied", "Access Denied"))
    proxy.on(lambda r: r.bucket == bucket and r.operation in ("HeadObject", "GetObject"),
             times=None, strip_headers=LOCK_HEADERS)


def shape(answer: dict) -> tuple:
    """What the decision reads of an answer (no request ids, dates or version ids)."""
    error = answer.get("Error", {})
    lock_fields = sorted(name for name in answer if name.startswith("ObjectLock"))
    return answer["ResponseMetadata"]["HTTPStatusCode"], error.get("Code"), lock_fields, sorted(answer.get("LegalHold", {}))


def test_the_recording_still_matches_the_servers(s3, proxy):
    bucket = unique_bucket("rec")
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    live = record(s3, proxy, bucket)
    assert {name: shape(answer) for name, answer in live.items()} == {name: shape(a) for name, a in ANSWERS.items()}


@pytest.fixture
def locked_source(s3):
    source, dest = unique_bucket("psrc"), unique_bucket("pdst")
    s3.create_bucket(Bucket=source, ObjectLockEnabledForBucket=True)
    s3.create_bucket(Bucket=dest, ObjectLockEnabledForBucket=True)
    seed(s3, source, [Seed("a.txt", b"a"), Seed("locked.txt", b"l", mode="COMPLIANCE", retain_until=in_days(1), legal_hold=True)])
    return source, dest


def test_probe_through_the_wire(monkeypatch, moto_server, proxy, locked_source):
    """The probe itself, with bucketsync's own client: allowed, then denied."""
    source, _ = locked_source
    monkeypatch.setenv("BUCKETSYNC_SOURCE__ENDPOINT_URL", proxy.url)
    settings = load_settings(source={"access_key_id": "k", "secret_access_key": "s", "region": "us-east-1"})
    client = make_client(settings.source, settings)
    assert lock_read_refusal(probe_lock_reads(client, Location(source)), source) is None
    assert proxy.counts["op:GetObjectRetention"] == 1  # moto's 500 is not worth botocore's full backoff
    deny_lock_reads(proxy, source)
    said = lock_read_refusal(probe_lock_reads(client, Location(source)), source)
    assert said and "s3:GetObjectRetention and s3:GetObjectLegalHold denied" in said


@pytest.mark.parametrize("command", ["sync", "verify"])
def test_cli_refuses_credentials_that_cannot_read_locks(moto_server, s3, proxy, locked_source, command):
    source, dest = locked_source
    deny_lock_reads(proxy, source)
    result = run_cli(command, f"s3://{source}", f"s3://{dest}", env=cli_env(through(proxy, moto_server)))
    check_error_exit(result, "source credentials cannot read Object Lock state", "s3:GetObjectRetention")
    assert list_keys(s3, dest) == {}
    # the destination's quirk probe (a copy of a missing key, beside the preflight) writes nothing
    copies = [e for e in proxy.exchanges if e.request.operation == "CopyObject"
              and not (e.request.key or "").startswith("bucketsync-quirk-probe-")]
    assert copies == []
