"""The lock rules as tables: (source lock, destination lock, now) -> decision."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bucketsync.core.lockrules import (
    DEST_RETENTION_KEPT,
    DOWNGRADE_REFUSED,
    REFUSALS,
    SHORTEN_REFUSED,
    SOURCE_RETENTION_EXPIRED,
    LockDecision,
    active_retention,
    decide_lock,
    write_lock_args,
)
from bucketsync.core.model import LockState, Retention

UTC = timezone.utc
NOW = datetime(2030, 6, 15, 12, 0, 0, tzinfo=UTC)
PAST = NOW - timedelta(days=1)
SOON = NOW + timedelta(days=10)
LATER = NOW + timedelta(days=30)
LATEST = NOW + timedelta(days=365)


def gov(until: datetime) -> Retention:
    return Retention("GOVERNANCE", until)


def comp(until: datetime) -> Retention:
    return Retention("COMPLIANCE", until)


def lock(retention: Retention | None = None, hold: bool = False) -> LockState:
    return LockState(retention=retention, legal_hold=hold)


NONE = lock()

# id, source, dest, expected retention, expected legal_hold, expected notes, expected bypass
DECISIONS = [
    ("no lock on either side", NONE, NONE, None, None, (), False),
    ("source expired, dest none", lock(gov(PAST)), NONE, None, None, (SOURCE_RETENTION_EXPIRED,), False),
    ("source expired COMPLIANCE, dest none", lock(comp(PAST)), NONE, None, None, (SOURCE_RETENTION_EXPIRED,), False),
    ("source retention ends exactly now: expired", lock(gov(NOW)), NONE, None, None, (SOURCE_RETENTION_EXPIRED,), False),
    ("new GOVERNANCE retention", lock(gov(LATER)), NONE, gov(LATER), None, (), False),
    ("new COMPLIANCE retention", lock(comp(LATER)), NONE, comp(LATER), None, (), False),
    ("retention one second ahead is still active", lock(gov(NOW + timedelta(seconds=1))), NONE,
     gov(NOW + timedelta(seconds=1)), None, (), False),
    ("extend GOVERNANCE", lock(gov(LATER)), lock(gov(SOON)), gov(LATER), None, (), False),
    ("extend COMPLIANCE", lock(comp(LATER)), lock(comp(SOON)), comp(LATER), None, (), False),
    ("shorten GOVERNANCE refused", lock(gov(SOON)), lock(gov(LATER)), None, None, (SHORTEN_REFUSED,), False),
    ("shorten COMPLIANCE refused", lock(comp(SOON)), lock(comp(LATER)), None, None, (SHORTEN_REFUSED,), False),
    ("same GOVERNANCE date: no change", lock(gov(LATER)), lock(gov(LATER)), None, None, (), False),
    ("same COMPLIANCE date: no change", lock(comp(LATER)), lock(comp(LATER)), None, None, (), False),
    ("equal to the second, source has microseconds", lock(gov(LATER.replace(microsecond=999_999))),
     lock(gov(LATER)), None, None, (), False),
    ("equal to the second, dest has microseconds", lock(comp(LATER)),
     lock(comp(LATER.replace(microsecond=123_456))), None, None, (), False),
    ("COMPLIANCE -> GOVERNANCE, same date: downgrade refused", lock(gov(LATER)), lock(comp(LATER)),
     None, None, (DOWNGRADE_REFUSED,), False),
    ("COMPLIANCE -> GOVERNANCE, earlier date: downgrade refused, nothing lowered", lock(gov(SOON)),
     lock(comp(LATER)), None, None, (DOWNGRADE_REFUSED,), False),
    ("COMPLIANCE -> GOVERNANCE, later date: keep COMPLIANCE, extend", lock(gov(LATEST)), lock(comp(LATER)),
     comp(LATEST), None, (DOWNGRADE_REFUSED,), False),
    ("GOVERNANCE -> COMPLIANCE, later date: raise mode and date", lock(comp(LATEST)), lock(gov(LATER)),
     comp(LATEST), None, (), True),
    ("GOVERNANCE -> COMPLIANCE, same date: raise mode", lock(comp(LATER)), lock(gov(LATER)),
     comp(LATER), None, (), True),
    ("GOVERNANCE -> COMPLIANCE, earlier date: raise mode, keep the later date", lock(comp(SOON)),
     lock(gov(LATER)), comp(LATER), None, (SHORTEN_REFUSED,), True),
    ("dest retention expired is treated as none", lock(gov(LATER)), lock(gov(PAST)), gov(LATER), None, (), False),
    ("dest COMPLIANCE expired: GOVERNANCE may be set", lock(gov(LATER)), lock(comp(PAST)),
     gov(LATER), None, (), False),
    ("both expired", lock(gov(PAST)), lock(comp(PAST)), None, None, (SOURCE_RETENTION_EXPIRED,), False),
    ("legal hold on", lock(hold=True), NONE, None, True, (), False),
    ("legal hold off", NONE, lock(hold=True), None, False, (), False),
    ("legal hold already on", lock(hold=True), lock(hold=True), None, None, (), False),
    ("legal hold with a new retention", lock(comp(LATER), hold=True), NONE, comp(LATER), True, (), False),
    ("legal hold off while retention is refused", lock(gov(SOON)), lock(gov(LATER), hold=True),
     None, False, (SHORTEN_REFUSED,), False),
    ("legal hold on with an expired source retention", lock(gov(PAST), hold=True), NONE,
     None, True, (SOURCE_RETENTION_EXPIRED,), False),
    ("source without lock, dest got a bucket default retention", NONE, lock(gov(LATER)),
     None, None, (DEST_RETENTION_KEPT,), False),
    ("source without lock, dest got a COMPLIANCE default retention", NONE, lock(comp(LATER)),
     None, None, (DEST_RETENTION_KEPT,), False),
    ("source expired, dest still held", lock(gov(PAST)), lock(gov(LATER)),
     None, None, (SOURCE_RETENTION_EXPIRED, DEST_RETENTION_KEPT), False),
]


@pytest.mark.parametrize(
    "source, dest, retention, legal_hold, notes, bypass",
    [case[1:] for case in DECISIONS],
    ids=[case[0] for case in DECISIONS],
)
def test_decide_lock(source, dest, retention, legal_hold, notes, bypass):
    decision = decide_lock(source, dest, NOW)
    assert decision == LockDecision(
        retention=retention, legal_hold=legal_hold, notes=notes, needs_governance_bypass=bypass
    )
    assert decision.changes_anything() == (retention is not None or legal_hold is not None)


@pytest.mark.parametrize(
    "source, dest",
    [case[1:3] for case in DECISIONS],
    ids=[case[0] for case in DECISIONS],
)
def test_decide_lock_never_shortens_or_downgrades(source, dest):
    """Whatever the source asks for, the destination's active retention only ever grows."""
    decision = decide_lock(source, dest, NOW)
    held = active_retention(dest, NOW)
    if decision.retention is not None:
        assert decision.retention.is_active(NOW)  # S3 rejects a past date
        if held is not None:
            assert decision.retention.retain_until >= held.retain_until
            if held.mode == "COMPLIANCE":
                assert decision.retention.mode == "COMPLIANCE"
    assert decision.needs_governance_bypass == (
        decision.retention is not None and held is not None and held.mode == "GOVERNANCE"
        and decision.retention.mode != held.mode
    )


@pytest.mark.parametrize(
    "source, dest",
    [case[1:3] for case in DECISIONS],
    ids=[case[0] for case in DECISIONS],
)
def test_applying_the_decision_reaches_a_fixed_point(source, dest):
    """Applying a decision and deciding again changes nothing more (re-runs are idempotent)."""
    decision = decide_lock(source, dest, NOW)
    applied = LockState(
        retention=decision.retention if decision.retention is not None else dest.retention,
        legal_hold=decision.legal_hold if decision.legal_hold is not None else dest.legal_hold,
    )
    again = decide_lock(source, applied, NOW)
    assert not again.changes_anything()
    assert applied.legal_hold == source.legal_hold


def test_refusal_notes_are_the_reported_ones():
    assert REFUSALS == {SHORTEN_REFUSED, DOWNGRADE_REFUSED, DEST_RETENTION_KEPT}
    assert SOURCE_RETENTION_EXPIRED not in REFUSALS


@pytest.mark.parametrize(
    "state, now, expected",
    [
        (NONE, NOW, None),
        (lock(gov(LATER)), NOW, gov(LATER)),
        (lock(comp(PAST)), NOW, None),
        (lock(gov(NOW)), NOW, None),
        (lock(gov(NOW)), NOW - timedelta(seconds=1), gov(NOW)),
        # `now` is compared to the second as well: half a second before the end is still inside it
        (lock(gov(NOW)), NOW - timedelta(microseconds=500_000), gov(NOW)),
        (lock(gov(NOW)), NOW + timedelta(microseconds=500_000), None),
        # a naive `now` is UTC
        (lock(gov(NOW)), NOW.replace(tzinfo=None) - timedelta(seconds=1), gov(NOW)),
        (lock(gov(NOW)), NOW.replace(tzinfo=None), None),
        # an aware `now` in another zone means the same instant
        (lock(gov(NOW)), (NOW - timedelta(seconds=1)).astimezone(timezone(timedelta(hours=-7))), gov(NOW)),
        (lock(gov(NOW)), NOW.astimezone(timezone(timedelta(hours=5, minutes=30))), None),
        (lock(gov(LATER), hold=True), NOW, gov(LATER)),
    ],
)
def test_active_retention(state, now, expected):
    assert active_retention(state, now) == expected


NAIVE_LATER = LATER.replace(tzinfo=None)

# id, source lock, expected boto3 arguments
WRITE_ARGS = [
    ("no lock", NONE, {}),
    ("GOVERNANCE", lock(gov(LATER)), {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": LATER}),
    ("COMPLIANCE", lock(comp(LATER)), {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": LATER}),
    ("expired source: no mode, no date", lock(gov(PAST)), {}),
    ("expired COMPLIANCE with hold: hold only", lock(comp(PAST), hold=True), {"ObjectLockLegalHoldStatus": "ON"}),
    ("hold only", lock(hold=True), {"ObjectLockLegalHoldStatus": "ON"}),
    ("hold off is not sent", lock(gov(LATER), hold=False),
     {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": LATER}),
    ("retention and hold", lock(comp(LATER), hold=True),
     {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": LATER, "ObjectLockLegalHoldStatus": "ON"}),
    ("microseconds dropped", lock(gov(LATER.replace(microsecond=654_321))),
     {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": LATER}),
    ("naive datetime is UTC", lock(gov(NAIVE_LATER)),
     {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": LATER}),
    ("other time zone normalised to UTC", lock(gov(LATER.astimezone(timezone(timedelta(hours=9))))),
     {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": LATER}),
]


@pytest.mark.parametrize("source, expected", [c[1:] for c in WRITE_ARGS], ids=[c[0] for c in WRITE_ARGS])
def test_write_lock_args(source, expected):
    args = write_lock_args(source, NOW)
    assert args == expected
    if "ObjectLockRetainUntilDate" in args:
        until = args["ObjectLockRetainUntilDate"]
        assert until.utcoffset() == timedelta(0)
        assert until.microsecond == 0
    # mode and date always travel together: S3 rejects one without the other
    assert ("ObjectLockMode" in args) == ("ObjectLockRetainUntilDate" in args)


@pytest.mark.parametrize("now", [NOW, NOW.replace(tzinfo=None)], ids=["aware now", "naive now"])
def test_write_lock_args_with_naive_now(now):
    assert write_lock_args(lock(gov(NAIVE_LATER)), now)["ObjectLockRetainUntilDate"] == LATER
    assert write_lock_args(lock(gov(PAST.replace(tzinfo=None))), now) == {}


@pytest.mark.parametrize("source", [c[1] for c in WRITE_ARGS], ids=[c[0] for c in WRITE_ARGS])
def test_write_lock_args_agree_with_decide_lock_on_an_empty_destination(source):
    """What the write sets is exactly what decide_lock would apply to an unlocked destination."""
    decision = decide_lock(source, NONE, NOW)
    args = write_lock_args(source, NOW)
    if decision.retention is None:
        assert "ObjectLockMode" not in args
    else:
        assert (args["ObjectLockMode"], args["ObjectLockRetainUntilDate"]) == (
            decision.retention.mode, decision.retention.retain_until)
    assert ("ObjectLockLegalHoldStatus" in args) == bool(decision.legal_hold)
