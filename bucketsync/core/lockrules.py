"""What lock state the destination version must get: a pure function of (source, destination, now).

The rules (S3 Object Lock semantics, see docs/design.md "Lock semantics"):
- a source retention still in the future is copied (mode + retain-until date, to the second);
- a source retention already expired protects nothing and is not set (S3 rejects past dates);
- a destination retention is only ever moved forward: never shortened, COMPLIANCE never downgraded;
  a source that asks for either is reported per object, and the destination keeps its stronger lock;
- GOVERNANCE on the destination is raised to COMPLIANCE when the source has COMPLIANCE;
- legal hold mirrors the source both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .model import LockState, Retention

# Notes a decision can carry. The first is counted; the refusals are listed per object in the report.
SOURCE_RETENTION_EXPIRED = "source_retention_expired"
SHORTEN_REFUSED = "shorten_refused"
DOWNGRADE_REFUSED = "downgrade_refused"
DEST_RETENTION_KEPT = "dest_retention_kept"

REFUSALS = frozenset({SHORTEN_REFUSED, DOWNGRADE_REFUSED, DEST_RETENTION_KEPT})


@dataclass(frozen=True)
class LockDecision:
    """What to apply to a destination version. None means: leave that part as it is."""

    retention: Retention | None = None
    legal_hold: bool | None = None
    notes: tuple[str, ...] = field(default=())
    # True when the retention change alters a GOVERNANCE mode, which S3 allows only with bypass.
    needs_governance_bypass: bool = False

    def changes_anything(self) -> bool:
        return self.retention is not None or self.legal_hold is not None


def active_retention(state: LockState, now: datetime) -> Retention | None:
    retention = state.retention
    return retention if retention is not None and retention.is_active(now) else None


def write_lock_args(source: LockState, now: datetime) -> dict[str, Any]:
    """boto3 arguments that set the source's lock state in the same write as the copy."""
    args: dict[str, Any] = {}
    retention = active_retention(source, now)
    if retention is not None:
        args["ObjectLockMode"] = retention.mode
        args["ObjectLockRetainUntilDate"] = retention.retain_until
    if source.legal_hold:
        args["ObjectLockLegalHoldStatus"] = "ON"
    return args


def decide_lock(source: LockState, dest: LockState, now: datetime) -> LockDecision:
    """Compare the source version's lock state with the destination version's and decide the change."""
    notes: list[str] = []
    wanted = active_retention(source, now)
    held = active_retention(dest, now)
    if source.retention is not None and wanted is None:
        notes.append(SOURCE_RETENTION_EXPIRED)

    retention: Retention | None = None
    bypass = False
    if wanted is None:
        if held is not None:
            notes.append(DEST_RETENTION_KEPT)
    elif held is None:
        retention = wanted
    elif held.mode == wanted.mode:
        if wanted.retain_until > held.retain_until:
            retention = wanted
        elif wanted.retain_until < held.retain_until:
            notes.append(SHORTEN_REFUSED)
    elif held.mode == "GOVERNANCE":  # source asks for COMPLIANCE: raise the mode, never the date down
        retention = Retention("COMPLIANCE", max(wanted.retain_until, held.retain_until))
        bypass = True
        if wanted.retain_until < held.retain_until:
            notes.append(SHORTEN_REFUSED)
    else:  # destination COMPLIANCE, source GOVERNANCE: keep COMPLIANCE, extend only
        notes.append(DOWNGRADE_REFUSED)
        if wanted.retain_until > held.retain_until:
            retention = Retention("COMPLIANCE", wanted.retain_until)

    legal_hold = source.legal_hold if source.legal_hold != dest.legal_hold else None
    return LockDecision(
        retention=retention, legal_hold=legal_hold, notes=tuple(notes), needs_governance_bypass=bypass
    )
