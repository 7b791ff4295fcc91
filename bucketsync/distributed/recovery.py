"""A run recovers without an operator: each worker sweeps the running runs and publishes again what a dead
worker held or a lost message never delivered.

Every `batch_lease_seconds / 3` a worker's main process asks the ledger, per running run (ledger.recover):
- batches whose lease lapsed (their executor stopped renewing it: killed, machine lost) are published again
  at once; the new delivery checks each key's destination before writing (batches.py), and the original
  message, delivered again after the visibility timeout, is dropped as a duplicate;
- a range whose coordinator stopped renewing its lease gets its next page published again from the ledger's
  cursor (claimed anew: a coordinator that was only slow stands down or finds the page registered);
- a run that has not moved for its own `stalled_after_seconds` (recorded when it was submitted) gets what
  `bucketsync resume` would publish: its uncounted batches that nobody holds, and the listing of its open
  ranges. Exactly one sweep acts per stall period (the ledger records `recovered_at`).
Publishing again is safe by construction: a batch is written only under its lease and counted once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from .submit import open_ranges
from .ledger import Ledger, Recovery
from ..core.messages import RunRequest
from .publish import publish_batches_again, publish_page
from ..core.settings import Settings

log = logging.getLogger("bucketsync")

Uncounted = dict[int, dict[int, Any]]  # page -> batch number -> payload


def batches_to_publish_again(found: Recovery, uncounted: Uncounted) -> Uncounted:
    """Which uncounted batches go out again: those whose lease lapsed; in a stalled run, every one nobody holds."""
    held, lapsed = set(found.held), set(found.lapsed)
    chosen: Uncounted = {}
    for page, batches in uncounted.items():
        for number, payload in batches.items():
            if (page, number) in lapsed or (found.stalled and (page, number) not in held):
                chosen.setdefault(page, {})[number] = payload
    return chosen


def recover_run(ledger: Ledger, run_id: str, stalled_after: float, grace: float) -> str | None:
    """One run's share of a sweep; returns what it published (None: nothing)."""
    found = ledger.recover(run_id, stalled_after, grace)
    if found.state != "running" or not (found.lapsed or found.ranges or found.stalled):
        return None
    stored = ledger.request(run_id)
    if stored is None:
        return None
    request = RunRequest.from_json(stored)
    again = batches_to_publish_again(found, ledger.unfinished_batches(run_id))
    for page, batches in again.items():
        publish_batches_again(request, page, batches)
    relisting = [task for task in open_ranges(ledger, run_id) if found.stalled or task.range_id in found.ranges]
    for task in relisting:
        publish_page(request, task)
    done = (f"run {run_id}: published again {sum(len(b) for b in again.values())} batch(es) "
            + ("of a stalled run" if found.stalled else "whose worker stopped renewing their lease")
            + (f", and the listing at page(s) {', '.join(str(task.page) for task in relisting)}" if relisting else ""))
    log.warning(done)
    return done


def sweep(ledger: Ledger, settings: Settings) -> list[str]:
    """Recover every running run once; an error on one run is logged and the others go on."""
    grace = settings.batch_lease_seconds / 3
    done = []
    for run_id in ledger.running_runs():
        try:
            result = recover_run(ledger, run_id, settings.stalled_after_seconds, grace)
        except Exception as exc:  # Redis or the broker away: the next sweep tries again
            log.warning("run %s: recovery sweep failed: %s", run_id, exc)
            continue
        if result:
            done.append(result)
    return done


class RecoverySweeper:
    """A worker's recovery sweep on a daemon thread, every third of the batch lease."""

    def __init__(self, ledger: Ledger, settings: Settings) -> None:
        self._ledger, self._settings = ledger, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="bucketsync-recovery", daemon=True)

    def _loop(self) -> None:
        interval = max(1.0, self._settings.batch_lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                sweep(self._ledger, self._settings)
            except Exception as exc:  # never end the thread: a Redis outage passes
                log.warning("recovery sweep failed: %s", exc)

    def start(self) -> "RecoverySweeper":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
