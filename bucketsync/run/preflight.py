"""Checks before any write. Each failure is one PreflightError with a message an operator can act on."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import (
    BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError, NoCredentialsError,
)

from ..engine import s3
from ..core.errors import PreflightError
from ..core.locations import Location

LOCK_PROBE_OBJECTS = 3  # source objects HEADed by the lock-permission probe
DENIED_CODES = frozenset({"AccessDenied", "AllAccessDisabled", "Forbidden", "403"})
CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidClientTokenId"}


@dataclass(frozen=True)
class PreflightResult:
    source_lock_enabled: bool
    dest_lock_enabled: bool


def _explain(exc: BaseException, side: str, bucket: str) -> str:
    if isinstance(exc, NoCredentialsError):
        env = "SOURCE" if side == "source" else "DEST"
        return (
            f"no credentials for the {side}: set BUCKETSYNC_{env}__ACCESS_KEY_ID and "
            f"BUCKETSYNC_{env}__SECRET_ACCESS_KEY, BUCKETSYNC_{env}__PROFILE, or the standard AWS_* variables"
        )
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError)):
        return f"cannot reach the {side} endpoint: {exc}"
    if isinstance(exc, ClientError):
        code = s3.error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return f"{side} bucket {bucket!r} does not exist"
        if code in CREDENTIAL_CODES:
            return f"{side} credentials rejected by the server ({code})"
        if code in ("403", "AccessDenied", "Forbidden"):
            return f"access denied to {side} bucket {bucket!r}: credentials rejected or missing permission"
        if code in ("301", "PermanentRedirect", "400"):
            return f"{side} bucket {bucket!r} answered {code}: wrong region or endpoint?"
        return f"{side} bucket {bucket!r}: {s3.describe(exc)}"
    if isinstance(exc, BotoCoreError):
        return f"{side}: {exc}"
    return f"{side}: {type(exc).__name__}: {exc}"


def fail_fast_until_reached(client) -> None:
    """An endpoint that has never answered this client is not retried: a refused connection or a connect
    timeout before the first answer is a wrong URL or a server that is down, and botocore's backoff would
    spend half a minute on it. Once any answer has come back (an HTTP status, even an error), the client
    retries as configured: throttling, resets and a restarting server later in the run are waited out."""
    reached = False

    def stop_if_never_reached(response=None, caught_exception=None, **_) -> None:
        nonlocal reached
        if response is not None:
            reached = True
        elif not reached and isinstance(caught_exception, (EndpointConnectionError, ConnectTimeoutError)):
            raise caught_exception

    # first: botocore's own retry handler on the same event would answer with a delay before this one is asked
    client.meta.events.register_first("needs-retry.s3", stop_if_never_reached, unique_id="bucketsync-fail-fast-unreached")


def _check_bucket(client, side: str, location: Location) -> None:
    try:
        client.head_bucket(Bucket=location.bucket)
    except (ClientError, BotoCoreError) as exc:
        raise PreflightError(_explain(exc, side, location.bucket)) from None


def lock_enabled(client, side: str, bucket: str) -> bool:
    try:
        config = client.get_object_lock_configuration(Bucket=bucket)
    except ClientError as exc:
        if s3.error_code(exc) == "ObjectLockConfigurationNotFoundError":
            return False
        if s3.error_code(exc) in ("AccessDenied", "403"):
            raise PreflightError(
                f"cannot read the Object Lock configuration of {side} bucket {bucket!r}: "
                "the credentials need s3:GetBucketObjectLockConfiguration"
            ) from None
        raise PreflightError(_explain(exc, side, bucket)) from None
    except BotoCoreError as exc:
        raise PreflightError(_explain(exc, side, bucket)) from None
    return config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"


# ---------------------------------------------------------------- can these credentials read lock state?
#
# Without s3:GetObjectRetention / s3:GetObjectLegalHold, HeadObject still succeeds and silently leaves
# out the lock fields, and the engine (which reads lock state from HEAD) would copy the objects without
# their locks. So, on a lock-enabled source, HEAD a few listed objects and ask one of them for its legal
# hold and retention directly: an AccessDenied there means the run must not start.
#
# The decision is a pure function of what the server answered (botocore's parsed responses, or a
# ClientError's .response), so it is tested with real recorded answers: moto cannot enforce these IAM
# permissions (it authorises ?retention and ?legal-hold reads as s3:GetObject), see tests/faults.


@dataclass(frozen=True)
class LockReadProbe:
    """The source's answers: HEADs of a few listed objects, then the lock reads of the first readable one."""

    heads: tuple[dict[str, Any], ...] = ()
    legal_hold: dict[str, Any] | None = None  # GetObjectLegalHold
    retention: dict[str, Any] | None = None  # GetObjectRetention


def _status(answer: dict[str, Any]) -> int:
    return int(answer.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def _is_error(answer: dict[str, Any]) -> bool:
    return "Error" in answer or _status(answer) >= 300


def _is_denied(answer: dict[str, Any] | None) -> bool:
    """AccessDenied and the like. Other 403s name their reason (InvalidObjectState: an archived object)
    and are no evidence of a missing permission; a bare 403 (HEAD has no body) is a denial."""
    if answer is None or not _is_error(answer):
        return False
    code = answer.get("Error", {}).get("Code")
    return str(code) in DENIED_CODES if code else _status(answer) == 403


def _success(answer: dict[str, Any] | None) -> dict[str, Any]:
    return answer if answer is not None and not _is_error(answer) else {}


def lock_read_refusal(probe: LockReadProbe, bucket: str, side: str = "source") -> str | None:
    """Why a run must not start with these credentials, or None when lock state is readable.

    Refuse when the server denies a lock read (AccessDenied / 403), when HEAD leaves out a lock that the
    direct read shows (the engine would not see it), or when every probed HEAD is denied. Anything else
    (a 5xx, NotImplemented, NoSuchObjectLockConfiguration for an object without a lock, an object
    gone since listing) is no evidence of a missing permission and lets the run go on.
    """
    heads = [answer for answer in probe.heads if not _is_error(answer)]
    if probe.heads and not heads and all(_is_denied(answer) for answer in probe.heads):
        return (
            f"the {side} credentials cannot read objects in bucket {bucket!r} (HeadObject: access denied): "
            "they need s3:GetObject"
        )
    denied = [
        permission
        for permission, answer in (("s3:GetObjectRetention", probe.retention), ("s3:GetObjectLegalHold", probe.legal_hold))
        if _is_denied(answer)
    ]
    if denied:
        return (
            f"the {side} credentials cannot read Object Lock state in bucket {bucket!r} ({' and '.join(denied)} "
            "denied): HEAD would silently leave out the locks and the copies would be unprotected. "
            f"Grant s3:GetObjectRetention and s3:GetObjectLegalHold on the {side}."
        )
    if heads:
        head = heads[0]  # the object whose lock was read
        retention = _success(probe.retention).get("Retention") or {}
        hold = _success(probe.legal_hold).get("LegalHold") or {}
        hidden = []
        if retention.get("Mode") and not head.get("ObjectLockMode"):
            hidden.append("retention")
        if hold.get("Status") == "ON" and head.get("ObjectLockLegalHoldStatus") != "ON":
            hidden.append("legal hold")
        if hidden:
            return (
                f"HeadObject in {side} bucket {bucket!r} leaves out the {' and '.join(hidden)} that the server "
                "reports for the same object: the copies would be unprotected. Grant s3:GetObjectRetention and "
                f"s3:GetObjectLegalHold on the {side}."
            )
    return None


class _Inconclusive(Exception):
    def __init__(self, answer: dict[str, Any]) -> None:
        super().__init__("inconclusive")
        self.answer = answer


def _answer(call: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return call()
    except ClientError as exc:
        return exc.response
    except _Inconclusive as stopped:
        return stopped.answer


def _stop_on_server_error(response, **_) -> None:
    """needs-retry handler for the lock reads: a 5xx answer is no evidence either way (moto answers
    GetObjectRetention with 500), so it is not worth botocore's full backoff. 503 SlowDown and dropped
    connections still get retried as usual."""
    if response is None or response[0] is None:
        return
    http, parsed = response
    if http.status_code >= 500 and http.status_code != 503:
        raise _Inconclusive(parsed or {"ResponseMetadata": {"HTTPStatusCode": http.status_code}})


def probe_lock_reads(client, location: Location) -> LockReadProbe:
    """Ask the source for lock state the ways the engine needs it (listing, HEAD, direct lock reads)."""
    listed = client.list_objects_v2(Bucket=location.bucket, Prefix=location.prefix, MaxKeys=LOCK_PROBE_OBJECTS)
    keys = [item["Key"] for item in listed.get("Contents", ())]
    heads = tuple(_answer(lambda key=key: client.head_object(Bucket=location.bucket, Key=key)) for key in keys)
    readable = [(key, head) for key, head in zip(keys, heads) if not _is_error(head)]
    if not readable:
        return LockReadProbe(heads=heads)
    key, head = readable[0]
    target = {"Bucket": location.bucket, "Key": key}
    if head.get("VersionId"):
        target["VersionId"] = head["VersionId"]
    events = ("needs-retry.s3.GetObjectRetention", "needs-retry.s3.GetObjectLegalHold")
    for event in events:
        client.meta.events.register(event, _stop_on_server_error, unique_id=f"bucketsync-probe-{event}")
    try:
        legal_hold = _answer(lambda: client.get_object_legal_hold(**target))
        retention = _answer(lambda: client.get_object_retention(**target))
    finally:
        for event in events:
            client.meta.events.unregister(event, unique_id=f"bucketsync-probe-{event}")
    return LockReadProbe(heads=heads, legal_hold=legal_hold, retention=retention)


def check_lock_readable(client, side: str, location: Location) -> None:
    """PreflightError unless these credentials can read the Object Lock state of `location`'s objects."""
    try:
        probe = probe_lock_reads(client, location)
    except (ClientError, BotoCoreError) as exc:
        raise PreflightError(_explain(exc, side, location.bucket)) from None
    refusal = lock_read_refusal(probe, location.bucket, side)
    if refusal:
        raise PreflightError(refusal)


def check_buckets(source_client, dest_client, source: Location, dest: Location) -> tuple[bool, bool]:
    """Both buckets reachable with these credentials; returns whether each has Object Lock.

    The four requests go out at once (over a far endpoint each is a round trip); their answers are read
    in the order they would have been sent, so the error reported is the one a serial check would meet."""
    fail_fast_until_reached(source_client)
    fail_fast_until_reached(dest_client)
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="bucketsync-preflight") as pool:
        checks = [
            pool.submit(_check_bucket, source_client, "source", source),
            pool.submit(_check_bucket, dest_client, "destination", dest),
            pool.submit(lock_enabled, source_client, "source", source.bucket),
            pool.submit(lock_enabled, dest_client, "destination", dest.bucket),
        ]
        answers = [check.result() for check in checks]
    return answers[2], answers[3]


def check_dest_versioning(client, dest: Location) -> None:
    """`--all-versions` writes a history: only a destination whose versioning is Enabled keeps one."""
    try:
        status = client.get_bucket_versioning(Bucket=dest.bucket).get("Status") or "never enabled"
    except (ClientError, BotoCoreError) as exc:
        raise PreflightError(_explain(exc, "destination", dest.bucket)) from None
    if status != "Enabled":
        raise PreflightError(
            f"destination bucket {dest.bucket!r} has versioning {status}: --all-versions needs versioning "
            "Enabled on the destination (it keeps one version per source version)"
        )


def run_preflight(
    source_client, dest_client, source: Location, dest: Location, *, all_versions: bool = False
) -> PreflightResult:
    source_lock, dest_lock = check_buckets(source_client, dest_client, source, dest)
    if all_versions:
        check_dest_versioning(dest_client, dest)
    if source_lock and not dest_lock:
        raise PreflightError(
            f"source bucket {source.bucket!r} has Object Lock but destination bucket {dest.bucket!r} does not: "
            "the copies would be unprotected. Create the destination with Object Lock enabled."
        )
    if source_lock:
        check_lock_readable(source_client, "source", source)
    return PreflightResult(source_lock_enabled=source_lock, dest_lock_enabled=dest_lock)
