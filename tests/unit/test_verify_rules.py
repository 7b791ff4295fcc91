"""verify's pure rules: when a lock state differs, and what ETags and sizes can decide. No I/O."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bucketsync.core.model import LockState, Retention
from bucketsync.run.verify import compare_lock, content_verdict

NOW = datetime(2030, 6, 1, tzinfo=timezone.utc)


def days(n: float) -> datetime:
    return NOW + timedelta(days=n)


@pytest.mark.parametrize(
    "source, dest, differs",
    [
        (LockState(), LockState(), []),
        (LockState(Retention("GOVERNANCE", days(2))), LockState(Retention("GOVERNANCE", days(2))), []),
        (LockState(Retention("GOVERNANCE", days(2))), LockState(Retention("GOVERNANCE", days(3))), []),  # longer: kept
        (LockState(Retention("GOVERNANCE", days(2))), LockState(Retention("COMPLIANCE", days(2))), []),  # stronger
        (LockState(Retention("GOVERNANCE", days(-1))), LockState(), []),  # expired at the source: asks nothing
        (LockState(), LockState(Retention("COMPLIANCE", days(1))), []),  # the destination's own (e.g. bucket default)
        (LockState(Retention("GOVERNANCE", days(2))), LockState(), ["retention"]),
        (LockState(Retention("GOVERNANCE", days(2))), LockState(Retention("GOVERNANCE", days(2) - timedelta(seconds=1))),
         ["retention"]),  # to the second
        (LockState(Retention("COMPLIANCE", days(2))), LockState(Retention("GOVERNANCE", days(5))), ["retention"]),  # weaker
        (LockState(legal_hold=True), LockState(), ["legal_hold"]),
        (LockState(), LockState(legal_hold=True), ["legal_hold"]),  # legal holds mirror both ways
    ],
)
def test_compare_lock(source, dest, differs):
    assert [item.what for item in compare_lock("k", source, dest, NOW)] == differs


@pytest.mark.parametrize(
    "source, dest, verdict",
    [
        (('"aa"', 5), ('"aa"', 5), "equal"),
        (('"aa"', 5), ('"aa"', 6), "size"),
        (('"aa"', 5), ('"bb"', 5), "etag"),
        (('"aa-2"', 5), ('"aa-2"', 5), "equal"),
        (('"aa-2"', 5), ('"bb-2"', 5), "read"),  # same part count, maybe other part sizes
        (('"aa-2"', 5), ('"bb"', 5), "read"),  # different layouts
    ],
)
def test_content_verdict(source, dest, verdict):
    assert content_verdict(source[0], source[1], dest[0], dest[1]) == verdict
