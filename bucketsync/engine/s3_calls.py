"""Which arguments each S3 call of the copy engine may carry: one explicit allow-list per operation.

As s3transfer filters its extra arguments per request, every engine call goes through `call`: the
arguments a call names itself must be on its list (anything else is a bug, raised before any request),
and from `carry` (what a new version should carry: content headers, metadata, tags, lock) each call
takes only what its list names. So CopyObject receives content headers and metadata only when it rewrites
them (MetadataDirective REPLACE, settle_write.py; a copy's COPY directive carries them), CreateMultipartUpload
never receives a directive, and UploadPart receives none of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..core.carried_attributes import CONTENT_HEADERS

LOCK_ARGS = ("ObjectLockMode", "ObjectLockRetainUntilDate", "ObjectLockLegalHoldStatus")
# SSE-C: the key of the object a request reads or writes, and of the source a server-side copy reads.
CUSTOMER_KEY = ("SSECustomerAlgorithm", "SSECustomerKey")
COPY_SOURCE_CUSTOMER_KEY = ("CopySourceSSECustomerAlgorithm", "CopySourceSSECustomerKey")
# How a new version is stored (copy_options.CopyOptions.dest_writes).
STORED_AS = ("StorageClass", "ServerSideEncryption", "SSEKMSKeyId", *CUSTOMER_KEY)
_DESCRIBES_OBJECT = (*CONTENT_HEADERS, "Metadata", "Tagging", *LOCK_ARGS, *STORED_AS)

ALLOWED_ARGS: dict[str, frozenset[str]] = {
    name: frozenset(args)
    for name, args in {
        "head_object": ("Bucket", "Key", "VersionId", "PartNumber", *CUSTOMER_KEY),
        "get_object": ("Bucket", "Key", "VersionId", "IfMatch", *CUSTOMER_KEY),
        "get_object_tagging": ("Bucket", "Key", "VersionId"),
        "put_object_tagging": ("Bucket", "Key", "VersionId", "Tagging"),
        "copy_object": (
            "Bucket", "Key", "CopySource", "CopySourceIfMatch", "MetadataDirective", "TaggingDirective", *LOCK_ARGS,
            *STORED_AS, *COPY_SOURCE_CUSTOMER_KEY, "Metadata", *CONTENT_HEADERS,
        ),
        "put_object": ("Bucket", "Key", "Body", "ContentLength", "ContentMD5", *_DESCRIBES_OBJECT),
        "create_multipart_upload": ("Bucket", "Key", *_DESCRIBES_OBJECT),
        "upload_part": (
            "Bucket", "Key", "UploadId", "PartNumber", "Body", "ContentLength", "ContentMD5", *CUSTOMER_KEY,
        ),
        "upload_part_copy": (
            "Bucket", "Key", "UploadId", "PartNumber", "CopySource", "CopySourceRange", "CopySourceIfMatch",
            *CUSTOMER_KEY, *COPY_SOURCE_CUSTOMER_KEY,
        ),
        "complete_multipart_upload": ("Bucket", "Key", "UploadId", "MultipartUpload"),
        "abort_multipart_upload": ("Bucket", "Key", "UploadId"),
        "put_object_retention": ("Bucket", "Key", "VersionId", "Retention", "BypassGovernanceRetention"),
        "put_object_legal_hold": ("Bucket", "Key", "VersionId", "LegalHold"),
        "delete_object": ("Bucket", "Key"),
    }.items()
}


# Allowed when a call names them, never taken from `carry`: a copy's COPY directive carries the source's
# metadata and content headers; only a rewrite with MetadataDirective REPLACE names them (settle_write.py).
NOT_FROM_CARRY: dict[str, frozenset[str]] = {"copy_object": frozenset(("Metadata", *CONTENT_HEADERS))}


def request_args(operation: str, args: Mapping[str, Any], carry: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The arguments `operation` is sent: `args` (all allowed) over the allowed part of `carry`; no None values."""
    allowed = ALLOWED_ARGS[operation]
    stray = sorted(set(args) - allowed)
    if stray:
        raise TypeError(f"{operation} does not take {', '.join(stray)}")
    from_carry = allowed - NOT_FROM_CARRY.get(operation, frozenset())
    chosen = {name: value for name, value in (carry or {}).items() if name in from_carry}
    chosen.update(args)
    return {name: value for name, value in chosen.items() if value is not None}


def call(client, operation: str, *, carry: Mapping[str, Any] | None = None, **args: Any) -> dict[str, Any]:
    """One S3 request with the arguments request_args allows."""
    return getattr(client, operation)(**request_args(operation, args, carry))
