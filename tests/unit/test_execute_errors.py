"""execute() turns a bug into a failed outcome for that object, and logs its traceback. No I/O."""

from __future__ import annotations

import logging

from bucketsync.engine.execute import ExecutionContext, execute
from bucketsync.core.locations import Location
from bucketsync.core.model import ObjectEntry
from bucketsync.core.plan import PlannedAction
from bucketsync.core.settings import Settings


def dry_context() -> ExecutionContext:
    return ExecutionContext(
        source_client=None, dest_client=None, source=Location("src-bucket"), dest=Location("dst-bucket"),
        settings=Settings(), server_side=True, source_lock_enabled=False, dry_run=True,
    )


def test_an_internal_error_is_an_outcome_and_its_traceback_is_logged(caplog):
    broken = PlannedAction("copy", "a.txt", source=None)  # a copy without its source entry: a bug upstream

    with caplog.at_level(logging.DEBUG, logger="bucketsync"):
        outcome = execute(dry_context(), broken)

    assert outcome.status == "failed" and outcome.reason.startswith("internal error: AttributeError")
    [record] = [r for r in caplog.records if r.name.startswith("bucketsync")]
    assert record.levelno == logging.ERROR and "a.txt" in record.getMessage()
    assert record.exc_info and record.exc_info[0] is AttributeError


def test_dry_run_copies_and_deletes_nothing_but_counts():
    ctx = dry_context()

    copied = execute(ctx, PlannedAction("copy", "b.txt", source=ObjectEntry("b.txt", 7, '"e"')))
    deleted = execute(ctx, PlannedAction("delete", "c.txt", dest=ObjectEntry("c.txt", 1, '"e"')))

    assert (copied.status, copied.bytes_copied) == ("copied", 7)
    assert deleted.status == "deleted"
