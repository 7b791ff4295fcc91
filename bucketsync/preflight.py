"""Checks before any write. Each failure is one PreflightError with a message an operator can act on."""

from __future__ import annotations

from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError, NoCredentialsError

from . import s3
from .errors import PreflightError
from .locations import Location

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
    if isinstance(exc, EndpointConnectionError):
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


def run_preflight(source_client, dest_client, source: Location, dest: Location) -> PreflightResult:
    _check_bucket(source_client, "source", source)
    _check_bucket(dest_client, "destination", dest)
    source_lock = lock_enabled(source_client, "source", source.bucket)
    dest_lock = lock_enabled(dest_client, "destination", dest.bucket)
    if source_lock and not dest_lock:
        raise PreflightError(
            f"source bucket {source.bucket!r} has Object Lock but destination bucket {dest.bucket!r} does not: "
            "the copies would be unprotected. Create the destination with Object Lock enabled."
        )
    return PreflightResult(source_lock_enabled=source_lock, dest_lock_enabled=dest_lock)
