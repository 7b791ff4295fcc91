"""How copies are written and read: storage class and encryption. Pure: no I/O.

Storage class: each copy gets the source's storage class (from the listing, HEAD or GET; S3 omits it
for STANDARD, which is also what a write without one gets), or the one `--storage-class` names for every
copy. CopyObject does not keep the source's class by itself: without the header the copy is STANDARD.

Encryption: `--sse AES256|aws:kms` (and `--sse-kms-key-id`) asks the destination to encrypt every copy;
an SSE-C key per side (settings `source.sse_c_key`, `dest.sse_c_key`) goes on every request that reads or
writes that side's object data or HEADs it: S3 refuses those requests for an SSE-C object without the
key (400), and a HEAD without it as well. The keys stay in this process: they are read from each
process's own settings, never put in a message.

The argument dicts below are `carry` for s3_calls.call: each operation takes from them only what its
allow-list names (UploadPart takes the SSE-C key but not the storage class, CopyObject takes both keys).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Literal

# S3's storage classes (botocore's StorageClass enum, 2025).
STORAGE_CLASSES = (
    "STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
    "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE",
)
DEFAULT_STORAGE_CLASS = "STANDARD"
# Objects in these classes cannot be read or copied until they are restored (S3 answers InvalidObjectState).
ARCHIVE_CLASSES = ("GLACIER", "DEEP_ARCHIVE")
NOT_IN_ACTIVE_TIER = ("InvalidObjectState", "ObjectNotInActiveTierError")  # AWS; moto on CopyObject

SseMode = Literal["AES256", "aws:kms"]
SSE_MODES: tuple[str, ...] = ("AES256", "aws:kms")
SSE_C_ALGORITHM = "AES256"
SSE_C_KEY_BYTES = 32


def check_storage_class(value: str) -> str:
    if value not in STORAGE_CLASSES:
        raise ValueError(f"unknown storage class {value!r} (one of {', '.join(STORAGE_CLASSES)})")
    return value


def check_choices(storage_class: str | None, sse: str | None, sse_kms_key_id: str | None, dest_sse_c: bool) -> None:
    """The command line's choices for the copies, checked before anything starts; ValueError says what is wrong."""
    if storage_class is not None:
        check_storage_class(storage_class)
    if sse is not None and sse not in SSE_MODES:
        raise ValueError(f"--sse must be AES256 or aws:kms, not {sse!r}")
    if sse_kms_key_id and sse != "aws:kms":
        raise ValueError("--sse-kms-key-id needs --sse aws:kms")
    if sse and dest_sse_c:
        raise ValueError("--sse cannot be combined with a destination SSE-C key (BUCKETSYNC_DEST__SSE_C_KEY)")


def decode_sse_c_key(text: str) -> bytes:
    """A base64 SSE-C key -> its 32 bytes; ValueError without repeating the value (it is a secret)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("the SSE-C key must be base64 (e.g. `openssl rand -base64 32`)") from None
    if len(key) != SSE_C_KEY_BYTES:
        raise ValueError(f"the SSE-C key must be {SSE_C_KEY_BYTES} bytes once base64-decoded, not {len(key)}")
    return key


@dataclass(frozen=True)
class CopyOptions:
    storage_class: str | None = None  # None: each copy keeps its source's class
    sse: str | None = None  # server-side encryption asked of the destination: AES256 or aws:kms
    sse_kms_key_id: str | None = None
    source_sse_c_key: bytes | None = field(default=None, repr=False)
    dest_sse_c_key: bytes | None = field(default=None, repr=False)

    def target_storage_class(self, source_class: str | None) -> str | None:
        """The class to send for a copy of an object in `source_class`; None for STANDARD (need not be sent)."""
        chosen = self.storage_class or source_class or DEFAULT_STORAGE_CLASS
        return None if chosen == DEFAULT_STORAGE_CLASS else chosen

    def source_reads(self) -> dict[str, Any]:
        """HEAD and GET of a source object."""
        return _customer_key("SSECustomer", self.source_sse_c_key)

    def dest_reads(self) -> dict[str, Any]:
        """HEAD of a destination object; UploadPart (the part is encrypted with the upload's key)."""
        return _customer_key("SSECustomer", self.dest_sse_c_key)

    def dest_writes(self, source_class: str | None) -> dict[str, Any]:
        """CopyObject, PutObject, CreateMultipartUpload, UploadPart(Copy): how the new version is stored,
        and the source's key where a copy reads it server-side."""
        args: dict[str, Any] = {
            "StorageClass": self.target_storage_class(source_class),
            "ServerSideEncryption": self.sse,
            "SSEKMSKeyId": self.sse_kms_key_id,
            **self.dest_reads(),
            **_customer_key("CopySourceSSECustomer", self.source_sse_c_key),
        }
        return {name: value for name, value in args.items() if value is not None}

    def dest_rewrites(self, source_class: str | None) -> dict[str, Any]:
        """CopyObject of a destination version onto itself (settle_write's metadata rewrite): stored as the
        copy's first write asked, its source (that very version) read with the destination's key."""
        args = {name: value for name, value in self.dest_writes(source_class).items() if not name.startswith("CopySource")}
        return {**args, **_customer_key("CopySourceSSECustomer", self.dest_sse_c_key)}

    @property
    def etags_are_md5(self) -> bool:
        """Whether both sides' ETags are the MD5 of the data (single-part) as bucketsync writes them: not for
        SSE-KMS or SSE-C objects, whose ETags are opaque, so the plan compares them otherwise."""
        return self.sse != "aws:kms" and self.source_sse_c_key is None and self.dest_sse_c_key is None


def _customer_key(prefix: str, key: bytes | None) -> dict[str, Any]:
    # botocore base64-encodes the key and adds its MD5 header itself: it takes the raw 32 bytes.
    return {} if key is None else {f"{prefix}Algorithm": SSE_C_ALGORITHM, f"{prefix}Key": key}
