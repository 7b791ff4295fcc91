"""The embedded run of `sync --all-versions`: both sides' version listings as whole per-key histories,
merge-joined and planned key by key; each key's history runs on one thread (its writes in order), different
keys in parallel. The unit counted is a version or delete marker: `listed` those of the keys the filters
include, `excluded` those of the keys they leave out (whose histories are never planned, on either side).

Ends as the current-versions run does (embedded.py): `finished`, `failed` with the error when a listing
cannot go on, or RunInterrupted with the summary so far.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from botocore.exceptions import BotoCoreError, ClientError

from ..engine import s3
from .context import RunRequest
from ..core.errors import ListingFailed
from .embedded import ProgressCallback, new_summary, run_planned
from ..engine.execution_context import ExecutionContext
from ..core.history import KeyHistory
from ..engine.history_execute import execute_history
from ..listing.pages import prefetched
from ..core.outcomes import ObjectOutcome, RunSummary, RunTally
from ..listing.versions import VersionPage, iter_histories, iter_version_pages
from ..core.version_plan import filter_histories, plan_histories

log = logging.getLogger("bucketsync")


def _listed(side: str, pages: Iterator[VersionPage]) -> Iterator[VersionPage]:
    try:
        yield from pages
    except (ClientError, BotoCoreError) as exc:
        raise ListingFailed(f"listing the {side}'s versions: {s3.describe(exc)}") from exc


def run_embedded_versions(
    ctx: ExecutionContext, request: RunRequest, on_progress: ProgressCallback | None = None
) -> RunSummary:
    """Replicate every version and delete marker; memory: the in-flight window plus one key's history."""
    settings = ctx.settings
    tally = RunTally(new_summary(request, "embedded"))
    notify = (lambda: on_progress(tally.summary)) if on_progress else (lambda: None)

    filters = request.key_filters  # a key they exclude is never planned, on either side (version_plan)

    def counted(histories: Iterator[KeyHistory]) -> Iterator[KeyHistory]:
        for history in histories:
            taking_part = filter_histories((history,), filters)
            tally.add_listed(taking_part.listed, taking_part.excluded)
            yield from taking_part.included
            notify()

    def included(histories: Iterator[KeyHistory]) -> Iterator[KeyHistory]:
        for history in histories:
            yield from filter_histories((history,), filters).included

    source_pages = prefetched(iter_version_pages(ctx.source_client, ctx.source, page_size=settings.page_size))
    dest_pages = prefetched(iter_version_pages(ctx.dest_client, ctx.dest, page_size=settings.page_size))
    source = counted(iter_histories(_listed("source", source_pages)))
    dest = included(iter_histories(_listed("destination", dest_pages)))

    def planned():
        for action in plan_histories(source, dest, request.plan_options(settings)):
            if not action.needs_work:
                yield [ObjectOutcome(action.key, "skipped", version_id=entry.version_id)
                       for entry, _ in action.plan.matched]
            else:
                yield lambda action=action: execute_history(ctx, action)

    summary = run_planned(request, settings.concurrency, tally, notify, planned())
    notify()
    return summary
