"""Deciding what to do with each key's history (`sync --all-versions`): a merge-join of two sorted streams
of whole histories, one HistoryAction per key. Pure: no I/O.

    source history, destination history   -> history.plan_history: versions and markers to write, in order;
                                             matched pairs (lock checks on a lock-enabled source);
                                             destination versions kept or left beneath a rewrite
    destination only                      -> its versions are kept (never deleted); with --delete a
                                             delete marker hides the key unless one already does

With --exclude / --include a key takes part, or not, with its whole history (filter_histories): a key the
filters exclude is never planned on either side, as in a current-versions run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .filters import Filters
from .history import HistoryEntry, HistoryPlan, KeyHistory, plan_history
from .plan import PlanOptions, merge_join

HISTORY_KIND = "history"  # the `kind` of a history action in a batch message


@dataclass(frozen=True)
class HistoryAction:
    key: str  # relative to both prefixes
    plan: HistoryPlan
    check_locks: bool = False  # a lock-enabled source: matched versions get their lock state compared
    delete: bool = False  # a destination-only key under --delete: a delete marker hides it

    @property
    def needs_work(self) -> bool:
        """Whether a worker has anything to do or report beyond `skipped` for each matched entry."""
        plan = self.plan
        return bool(plan.to_write or plan.kept or plan.rewritten or self.delete or (self.check_locks and plan.matched))

    @property
    def weight(self) -> int:
        """Bytes to copy."""
        return sum(entry.size for entry in self.plan.to_write)

    def to_json(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "kind": HISTORY_KIND,
            "key": self.key,
            "check_locks": self.check_locks,
            "delete": self.delete,
            "to_write": [entry.to_json() for entry in plan.to_write],
            "matched": [[source.to_json(), dest.to_json()] for source, dest in plan.matched],
            "rewritten": [entry.to_json() for entry in plan.rewritten],
            "kept": [entry.to_json() for entry in plan.kept],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "HistoryAction":
        def entries(name: str) -> tuple[HistoryEntry, ...]:
            return tuple(HistoryEntry.from_json(item) for item in data.get(name, ()))

        plan = HistoryPlan(
            to_write=entries("to_write"),
            matched=tuple((HistoryEntry.from_json(s), HistoryEntry.from_json(d)) for s, d in data.get("matched", ())),
            rewritten=entries("rewritten"),
            kept=entries("kept"),
        )
        return cls(key=data["key"], plan=plan, check_locks=bool(data.get("check_locks")), delete=bool(data.get("delete")))


@dataclass(frozen=True)
class FilteredHistories:
    """One side's histories under --exclude / --include; the unit counted is a version or delete marker."""

    included: list[KeyHistory]  # the keys the filters include, in the order given
    listed: int  # versions and delete markers of the included keys
    excluded: int  # versions and delete markers of the keys the filters leave out


def filter_histories(histories: Iterable[KeyHistory], filters: Filters) -> FilteredHistories:
    """The histories of the keys `filters` include (each key decided by its name, relative to the prefix),
    and how many entries each part holds."""
    included: list[KeyHistory] = []
    listed = excluded = 0
    for history in histories:
        if filters.includes(history.key):
            included.append(history)
            listed += len(history.entries)
        else:
            excluded += len(history.entries)
    return FilteredHistories(included, listed, excluded)


def plan_key(source: KeyHistory | None, dest: KeyHistory | None, options: PlanOptions) -> HistoryAction:
    if source is None and dest is None:
        raise ValueError("plan_key needs at least one side")
    key = source.key if source is not None else dest.key  # type: ignore[union-attr]
    source_entries = source.entries if source is not None else ()
    dest_entries = dest.entries if dest is not None else ()
    plan = plan_history(source_entries, dest_entries)
    hide = options.delete and source is None and bool(dest_entries) and not dest_entries[-1].is_delete_marker
    return HistoryAction(key, plan, check_locks=options.lock_check, delete=hide)


def plan_histories(
    source: Iterable[KeyHistory], dest: Iterable[KeyHistory], options: PlanOptions
) -> Iterator[HistoryAction]:
    """One action per key seen on either side, in key order."""
    for src, dst in merge_join(source, dest):  # type: ignore[arg-type]
        yield plan_key(src, dst, options)  # type: ignore[arg-type]


def history_batches(actions: list[HistoryAction], size: int, max_bytes: int) -> list[list[dict[str, Any]]]:
    """Batches of whole keys: at most `size` versions to write or check per batch (one key alone may have
    more) and at most `max_bytes` to copy unless one key alone is larger. A key's history stays in one
    batch, so its entries are written in order by one worker."""
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    current_items = current_bytes = 0
    for action in actions:
        items = max(1, len(action.plan.to_write) + len(action.plan.matched))
        if current and (current_items + items > size or current_bytes + action.weight > max_bytes):
            batches.append(current)
            current, current_items, current_bytes = [], 0, 0
        current.append(action.to_json())
        current_items += items
        current_bytes += action.weight
    if current:
        batches.append(current)
    return batches
