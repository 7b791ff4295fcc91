"""Setting Object Lock state on a destination version, and reading a new version back to check it.

The copy asks for the lock in the same write (lock arguments on CopyObject, PutObject,
CreateMultipartUpload), but servers differ: some apply them, some ignore them (Ceph RGW on CopyObject
and CreateMultipartUpload, moto on CreateMultipartUpload). So the new version is read back (HeadObject)
and what it lacks is set with PutObjectRetention / PutObjectLegalHold, counted as `lock_set_after_write`
with the seconds it stood unprotected. Never trusted, never reported as copied when it is not there.

A WrittenVersion carries what the write asked for; the tags, metadata and content headers a server may
have ignored are read back from the same HEAD and set in settle_write.py.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..core.carried_attributes import AskedAttributes
from ..core.lockrules import LockDecision, decide_lock
from ..core.model import LockState
from ..core.outcomes import LOCK_SET_AFTER_WRITE
from .s3_calls import call


@dataclass(frozen=True)
class WrittenVersion:
    """A destination version a copy has just written, and what that write asked it to carry."""

    key: str  # the destination key
    version_id: str | None  # the new version, where the server named it (Ceph RGW's CopyObject does not)
    source_version_id: str | None  # the source version it is a copy of
    size: int
    lock: LockState  # the lock state asked for: the source version's
    written_at: float = field(default_factory=time.monotonic)  # monotonic clock, right after the write
    notes: tuple[str, ...] = ()  # what the copy noticed (e.g. changed_since_listing)
    asked: AskedAttributes | None = None  # tags, metadata, headers asked for; None: nothing to check
    # How the write asked the version to be stored (storage class, encryption, SSE-C keys): a rewrite of it
    # onto itself (settle_write.py) asks the same (copy_options.CopyOptions.dest_rewrites).
    stored_as: Mapping[str, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True)
class LockSettlement:
    notes: tuple[str, ...] = ()
    unprotected_seconds: float = 0.0  # between the write and the lock being set after it


def apply_lock(client, bucket: str, key: str, version_id: str | None, decision: LockDecision) -> None:
    target = {"Bucket": bucket, "Key": key, "VersionId": version_id}
    if decision.retention is not None:
        call(
            client, "put_object_retention", **target,
            Retention={"Mode": decision.retention.mode, "RetainUntilDate": decision.retention.retain_until},
            BypassGovernanceRetention=True if decision.needs_governance_bypass else None,
        )
    if decision.legal_hold is not None:
        call(client, "put_object_legal_hold", **target, LegalHold={"Status": "ON" if decision.legal_hold else "OFF"})


def settle_lock(
    client, bucket: str, written: WrittenVersion, now: datetime, head: dict[str, Any] | None = None,
    reads: Mapping[str, Any] | None = None,
) -> LockSettlement:
    """Read the new version's lock state back (or take `head`, its HEAD answer already read) and set what
    the server did not apply on the write. `reads`: the destination's SSE-C key arguments, if any (a HEAD
    of an SSE-C object needs them)."""
    if written.lock.is_empty():
        return LockSettlement()
    if head is None:
        head = call(client, "head_object", Bucket=bucket, Key=written.key, VersionId=written.version_id, carry=reads)
    decision = decide_lock(written.lock, LockState.from_head(head), now)
    if not decision.changes_anything():
        return LockSettlement(decision.notes)
    apply_lock(client, bucket, written.key, written.version_id or head.get("VersionId"), decision)
    return LockSettlement(decision.notes + (LOCK_SET_AFTER_WRITE,), time.monotonic() - written.written_at)
