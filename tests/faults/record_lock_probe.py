"""Record what servers answer bucketsync's lock-permission probe: tests/faults/recorded/lock_probe.json.

    .venv/bin/python -m tests.faults.record_lock_probe      # re-record (starts its own moto server)

moto cannot enforce s3:GetObjectRetention / s3:GetObjectLegalHold (it authorises ?retention and
?legal-hold reads as s3:GetObject), so the answers of credentials that lack them come from a FaultProxy
that sends what S3 sends: 403 AccessDenied error documents, HEAD responses without the
x-amz-object-lock-* headers. Everything is parsed by botocore from the bytes on the wire, exactly as
in a run; the rest (HEADs, legal-hold reads, moto's 500 for GetObjectRetention) is moto's own answer.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from .proxy import FaultProxy, s3_error_body

RECORDED = Path(__file__).with_name("recorded") / "lock_probe.json"
LOCK_HEADERS = ("x-amz-object-lock-",)
RETAIN_UNTIL = "2030-01-01T00:00:00.000Z"
# GetObjectRetention's answer as AWS documents it (moto answers 500 instead).
RETENTION_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    f"<Mode>GOVERNANCE</Mode><RetainUntilDate>{RETAIN_UNTIL}</RetainUntilDate></Retention>"
).encode()


def jsonable(value: Any) -> Any:
    """A botocore response as JSON: datetimes as ISO strings, the request id and date headers kept."""
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items() if key != "Body"}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _answer(call) -> dict:
    try:
        return jsonable(call())
    except ClientError as exc:
        return jsonable(exc.response)


def client(url: str):
    # One attempt: these are recordings of single answers, not of botocore's retries.
    return boto3.client("s3", endpoint_url=url, aws_access_key_id="recorder", aws_secret_access_key="recorder",
                        region_name="us-east-1", config=Config(retries={"mode": "standard", "max_attempts": 1}))


def record(direct, proxy: FaultProxy, bucket: str) -> dict[str, dict]:
    """Create the objects in `bucket` (a fresh lock-enabled bucket) and record every answer."""
    until = datetime.now(timezone.utc) + timedelta(days=1)
    direct.put_object(Bucket=bucket, Key="locked", Body=b"locked", ObjectLockMode="GOVERNANCE",
                      ObjectLockRetainUntilDate=until, ObjectLockLegalHoldStatus="ON")
    direct.put_object(Bucket=bucket, Key="unlocked", Body=b"unlocked")
    direct.put_object(Bucket=bucket, Key="archived", Body=b"archived", StorageClass="GLACIER")
    via = client(proxy.url)
    answers = {
        "moto_head_locked": _answer(lambda: via.head_object(Bucket=bucket, Key="locked")),
        "moto_head_unlocked": _answer(lambda: via.head_object(Bucket=bucket, Key="unlocked")),
        "moto_legal_hold_on": _answer(lambda: via.get_object_legal_hold(Bucket=bucket, Key="locked")),
        "moto_legal_hold_unset": _answer(lambda: via.get_object_legal_hold(Bucket=bucket, Key="unlocked")),
        "moto_retention_500": _answer(lambda: via.get_object_retention(Bucket=bucket, Key="locked")),
        "moto_head_archived": _answer(lambda: via.head_object(Bucket=bucket, Key="archived")),
        "moto_legal_hold_archived": _answer(lambda: via.get_object_legal_hold(Bucket=bucket, Key="archived")),
    }
    # As S3 answers credentials without s3:GetObjectRetention / s3:GetObjectLegalHold.
    proxy.on(lambda r: r.operation == "HeadObject", times=1, strip_headers=LOCK_HEADERS)
    answers["s3_head_without_lock_fields"] = _answer(lambda: via.head_object(Bucket=bucket, Key="locked"))
    denied = (403, "AccessDenied", "Access Denied")
    proxy.on(lambda r: r.operation in ("GetObjectRetention", "GetObjectLegalHold"), "error", times=2, error=denied)
    answers["s3_legal_hold_access_denied"] = _answer(lambda: via.get_object_legal_hold(Bucket=bucket, Key="locked"))
    answers["s3_retention_access_denied"] = _answer(lambda: via.get_object_retention(Bucket=bucket, Key="locked"))
    # Without s3:GetObject, HEAD is a bare 403.
    proxy.on(lambda r: r.operation == "HeadObject", "error", times=1, error=denied)
    answers["s3_head_forbidden"] = _answer(lambda: via.head_object(Bucket=bucket, Key="locked"))
    # An object without a retention or legal hold, on AWS.
    missing = (404, "NoSuchObjectLockConfiguration", "The specified object does not have a ObjectLock configuration")
    proxy.on(lambda r: r.operation in ("GetObjectRetention", "GetObjectLegalHold"), "error", times=2, error=missing)
    answers["s3_legal_hold_not_set"] = _answer(lambda: via.get_object_legal_hold(Bucket=bucket, Key="unlocked"))
    answers["s3_retention_not_set"] = _answer(lambda: via.get_object_retention(Bucket=bucket, Key="unlocked"))
    proxy.on(lambda r: r.operation == "GetObjectRetention", "answer", times=1, answer=(200, RETENTION_XML))
    answers["s3_retention_governance"] = _answer(lambda: via.get_object_retention(Bucket=bucket, Key="locked"))
    return answers


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest import start_moto, stop, unique_bucket

    server = start_moto()
    proxy = FaultProxy(server.port).start()
    try:
        direct = server.client()
        bucket = unique_bucket("record")
        direct.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
        answers = record(direct, proxy, bucket)
    finally:
        proxy.stop()
        stop(server.process)
    RECORDED.parent.mkdir(exist_ok=True)
    RECORDED.write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"recorded {len(answers)} answers in {RECORDED}")


if __name__ == "__main__":
    main()
