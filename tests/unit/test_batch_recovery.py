"""The pure decisions behind a batch delivered again: whether a planned write is still needed, and which
uncounted batches a recovery sweep publishes again."""

from __future__ import annotations

import pytest

from bucketsync.distributed.ledger import Recovery
from bucketsync.core.model import ObjectEntry
from bucketsync.core.plan import PlannedAction, PlanOptions, still_needed
from bucketsync.distributed.recovery import batches_to_publish_again

SOURCE = ObjectEntry("k", 10, '"aaa"')
COPY = PlannedAction("copy", "k", source=SOURCE, reason="missing")


@pytest.mark.parametrize("action, dest_now, needed", [
    (COPY, None, True),  # not written yet
    (COPY, ObjectEntry("k", 10, '"aaa"'), False),  # the earlier delivery wrote it
    (COPY, ObjectEntry("k", 10, '"bbb"'), True),  # still the old version
    (COPY, ObjectEntry("k", 11, '"aaa"'), True),
    (PlannedAction("delete", "k", dest=SOURCE), SOURCE, True),
    (PlannedAction("delete", "k", dest=SOURCE), None, False),  # the earlier delivery placed the marker
    (PlannedAction("check_lock", "k", source=SOURCE, dest=SOURCE), SOURCE, True),  # writes no version
])
def test_still_needed(action, dest_now, needed):
    assert still_needed(action, dest_now, PlanOptions()) is needed
    assert still_needed(action, dest_now, PlanOptions(lock_check=True)) is needed


UNCOUNTED = {0: {0: "a", 1: "b"}, 3: {2: "c"}}


@pytest.mark.parametrize("found, chosen", [
    (Recovery("running"), {}),
    (Recovery("running", lapsed=((0, 1),), held=((0, 0),)), {0: {1: "b"}}),
    (Recovery("running", lapsed=((9, 9),)), {}),  # counted since: nothing
    (Recovery("running", held=((0, 0),), stalled=True), {0: {1: "b"}, 3: {2: "c"}}),
    (Recovery("running", stalled=True), UNCOUNTED),
])
def test_batches_to_publish_again(found, chosen):
    assert batches_to_publish_again(found, UNCOUNTED) == chosen
