"""One coordinator page of `sync --all-versions`: whole source histories, the destination's slice of the same
keys, one HistoryAction per key, and where the next page starts.

A page's source share ends at its last whole key (version_listing.list_whole_keys), so a key split between
two listing pages is planned once, whole, by the next coordinator. The PageTask token holds where both
sides' listings resume (version markers); `start_after` is the page's last key, as for current versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine.execution_context import ExecutionContext
from ..core.messages import PageTask, RunRequest
from ..core.settings import Settings
from ..listing.versions import list_histories_through, list_whole_keys, markers_from_token, page_token
from ..core.version_plan import HistoryAction, filter_histories, history_batches, plan_histories


@dataclass(frozen=True)
class PlannedVersionPage:
    listed: int  # source versions and delete markers of the keys the filters include
    actions: list[HistoryAction]
    next_token: str | None  # None: the listing has ended
    last_key: str | None  # the page's last source key, included or not: the next page starts after it
    excluded: int = 0  # source versions and delete markers of the keys the filters leave out

    @property
    def is_last(self) -> bool:
        return self.next_token is None

    @property
    def work(self) -> list[HistoryAction]:
        return [action for action in self.actions if action.needs_work]

    @property
    def skipped(self) -> int:
        """Matched entries of the keys that need nothing: counted at registration, never sent to a worker."""
        return sum(len(action.plan.matched) for action in self.actions if not action.needs_work)

    def batches(self, settings: Settings) -> list[list[dict[str, Any]]]:
        return history_batches(self.work, settings.batch_size, settings.batch_max_bytes)


def list_and_plan_versions(
    ctx: ExecutionContext, settings: Settings, request: RunRequest, task: PageTask
) -> PlannedVersionPage:
    """List the page's whole source histories and the destination's for the same keys; plan the keys the
    filters include (an excluded key's histories, on either side, are neither copied, compared nor deleted)."""
    source_after, dest_after = markers_from_token(task.token)
    source = list_whole_keys(
        ctx.source_client, ctx.source, page_size=settings.page_size, after=source_after, after_key=task.start_after
    )
    is_last = source.next_marker is None
    last_key = source.histories[-1].key if source.histories else task.start_after
    dest, dest_marker = list_histories_through(
        ctx.dest_client, ctx.dest, page_size=settings.page_size, after=dest_after, after_key=task.start_after,
        through=None if is_last else last_key,
    )
    filters = request.key_filters
    source_part = filter_histories(source.histories, filters)
    dest_part = filter_histories(dest, filters)
    actions = list(plan_histories(source_part.included, dest_part.included, request.plan_options(settings)))
    token = None if is_last else page_token(source.next_marker, dest_marker)
    return PlannedVersionPage(source_part.listed, actions, token, last_key, excluded=source_part.excluded)
