"""What a destination server needs beyond S3's rules, decided once per run before any copy starts.

The one quirk so far: S3 requires Content-MD5 or a checksum header on uploads that set Object Lock;
some servers (moto) apply that rule to CopyObject too, and reject the copy with
`MissingUploadObjectWithObjectLockHeaders` unless it declares a checksum algorithm: when it carries lock
headers, and also when it carries none but the destination bucket has a default retention.

The declaration is not sent everywhere: AWS refuses `x-amz-sdk-checksum-algorithm` without a matching
checksum on uploads, and some S3-compatible servers refuse headers they do not know. So the run asks
the destination once (detect_server_quirks, a copy that cannot write anything), and the destination
client is built with the declaration only where the server demanded it (s3.make_client). Workers get
the answer in the run request and build their client the same way: a client many threads share is
never changed while they use it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from . import s3
from ..core.errors import PreflightError
from ..core.settings import Settings

MISSING_LOCK_CHECKSUM = "MissingUploadObjectWithObjectLockHeaders"
PROBE_KEY_PREFIX = "bucketsync-quirk-probe-"
# No object has this ETag (an MD5 is never all zeros in practice): even a server that found the probe's
# source key would refuse to copy it, on the ones that honour the precondition.
_NO_SUCH_ETAG = '"00000000000000000000000000000000"'


@dataclass(frozen=True)
class ServerQuirks:
    copy_needs_checksum_declaration: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"copy_needs_checksum_declaration": self.copy_needs_checksum_declaration}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "ServerQuirks":
        return cls(copy_needs_checksum_declaration=bool((data or {}).get("copy_needs_checksum_declaration")))


def detect_server_quirks(dest_client, bucket: str) -> ServerQuirks:
    """Ask the destination server what it needs, with one CopyObject that writes nothing.

    The probe copies a key that does not exist (random name) with a legal hold and an impossible
    CopySourceIfMatch: S3 answers NoSuchKey or PreconditionFailed; a server with the checksum quirk
    checks the headers first and names it.
    """
    key = f"{PROBE_KEY_PREFIX}{uuid.uuid4().hex}"
    try:
        dest_client.copy_object(
            Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key + "-source"},
            CopySourceIfMatch=_NO_SUCH_ETAG, ObjectLockLegalHoldStatus="ON",
        )
    except ClientError as exc:
        return ServerQuirks(copy_needs_checksum_declaration=s3.error_code(exc) == MISSING_LOCK_CHECKSUM)
    except BotoCoreError as exc:
        raise PreflightError(f"destination: {exc}") from None
    return ServerQuirks()


def dest_client_for(settings: Settings, quirks: ServerQuirks, pacing=None):
    """The destination's S3 client, built for its server's quirks (and the run's pacing, if any)."""
    return s3.make_client(
        settings.dest, settings, pacing, declare_checksum_on_copies=quirks.copy_needs_checksum_declaration
    )
