"""Prometheus series from run reports: per-job totals (pure), the exposition text, and the textfile writer.

Series (the `job` label is the schedule's name, or `adhoc` for a run no schedule started):

    bucketsync_objects_total{job,result}                 objects by result (copied, skipped, lock_updated,
                                                         deleted, failed), added once per ended run
    bucketsync_bytes_copied_total{job}                   bytes written to the destination
    bucketsync_slowdowns_total{job}                      503 SlowDown answers met (botocore retried them)
    bucketsync_runs_ended_total{job,state}               ended runs: finished or failed
    bucketsync_run_last_success_timestamp_seconds{job}   end of the last run that ended without failures
    bucketsync_run_last_success_start_timestamp_seconds{job}  its start: the replica held everything then
    bucketsync_replica_age_seconds{job}                  now minus that start
    bucketsync_run_duration_seconds{job}                 duration of the last ended run
    bucketsync_run_last_end_timestamp_seconds{job}       when the last run ended (finished or failed)
and, from the exporter only (they describe the fleet now, not a run): bucketsync_runs{state},
bucketsync_pending_batches, bucketsync_queue_messages, bucketsync_redis_up; and the watches'
bucketsync_events_total{watch,result}, bucketsync_replication_lag_seconds{watch} (a histogram: event ->
replica written and checked) and bucketsync_events_pending{watch}.

Dry runs write nothing and are not counted.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ..core.events import LAG_BUCKETS
from ..core.outcomes import RunSummary

ADHOC_JOB = "adhoc"  # the job label of runs no schedule started
RESULTS = ("copied", "skipped", "lock_updated", "deleted", "failed")
ENDED_STATES = ("finished", "failed")
RUN_STATES = ("running", "stalled", "finished", "failed", "skipped")


@dataclass(frozen=True)
class JobTotals:
    """What the series of one job say: cumulative counts, and the last runs' times (epoch seconds)."""

    job: str
    objects: dict[str, int] = field(default_factory=lambda: {result: 0 for result in RESULTS})
    bytes_copied: int = 0
    slowdowns: int = 0
    runs_ended: dict[str, int] = field(default_factory=lambda: {state: 0 for state in ENDED_STATES})
    last_ended_at: float | None = None
    last_duration_seconds: float | None = None
    last_success_at: float | None = None
    last_success_started_at: float | None = None


def job_label(summary: RunSummary) -> str:
    return summary.job or ADHOC_JOB


def epoch(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


def is_success(summary: RunSummary) -> bool:
    """Ended without failures: the destination then held everything the source had when the run started."""
    return summary.state == "finished" and summary.failed == 0


def run_increments(summary: RunSummary) -> dict[str, int]:
    """The counter increments an ended run contributes, by field name (`objects:<result>`, `runs:<state>`)."""
    increments = {f"objects:{result}": getattr(summary, result) for result in RESULTS}
    increments["bytes_copied"] = summary.bytes_copied
    increments["slowdowns"] = summary.slowdowns
    increments[f"runs:{summary.state}"] = 1
    return increments


def add_run(totals: JobTotals, summary: RunSummary) -> JobTotals:
    """The totals after one more ended run (a run that ended before the last one keeps the last times)."""
    increments = run_increments(summary)
    objects = {result: totals.objects.get(result, 0) + increments[f"objects:{result}"] for result in RESULTS}
    runs_ended = dict(totals.runs_ended)
    runs_ended[summary.state] = runs_ended.get(summary.state, 0) + 1
    updated = replace(
        totals, objects=objects, runs_ended=runs_ended, bytes_copied=totals.bytes_copied + summary.bytes_copied,
        slowdowns=totals.slowdowns + summary.slowdowns,
    )
    started, ended = epoch(summary.started_at), epoch(summary.finished_at or summary.started_at)
    if totals.last_ended_at is None or ended >= totals.last_ended_at:
        updated = replace(updated, last_ended_at=ended, last_duration_seconds=ended - started)
    if is_success(summary) and (totals.last_success_started_at is None or started >= totals.last_success_started_at):
        updated = replace(updated, last_success_at=ended, last_success_started_at=started)
    return updated


def job_families(jobs: Iterable[JobTotals], now: float) -> list[Metric]:
    objects = CounterMetricFamily("bucketsync_objects", "Objects handled by ended runs, by result.", labels=["job", "result"])
    copied = CounterMetricFamily("bucketsync_bytes_copied", "Bytes written to the destination by ended runs.", labels=["job"])
    slowdowns = CounterMetricFamily(
        "bucketsync_slowdowns", "503 SlowDown answers met by ended runs (botocore retried them).", labels=["job"]
    )
    runs_ended = CounterMetricFamily("bucketsync_runs_ended", "Ended runs, by final state.", labels=["job", "state"])
    success = GaugeMetricFamily(
        "bucketsync_run_last_success_timestamp_seconds", "When the last run without failures ended.", labels=["job"]
    )
    success_start = GaugeMetricFamily(
        "bucketsync_run_last_success_start_timestamp_seconds",
        "When the last run without failures started: the replica held everything the source had then.",
        labels=["job"],
    )
    lag = GaugeMetricFamily(
        "bucketsync_replica_age_seconds", "Now minus the start of the last run without failures.", labels=["job"]
    )
    duration = GaugeMetricFamily("bucketsync_run_duration_seconds", "Duration of the last ended run.", labels=["job"])
    ended = GaugeMetricFamily("bucketsync_run_last_end_timestamp_seconds", "When the last run ended.", labels=["job"])
    for totals in sorted(jobs, key=lambda item: item.job):
        for result in RESULTS:
            objects.add_metric([totals.job, result], totals.objects.get(result, 0))
        copied.add_metric([totals.job], totals.bytes_copied)
        slowdowns.add_metric([totals.job], totals.slowdowns)
        for state in ENDED_STATES:
            runs_ended.add_metric([totals.job, state], totals.runs_ended.get(state, 0))
        if totals.last_success_at is not None and totals.last_success_started_at is not None:
            success.add_metric([totals.job], totals.last_success_at)
            success_start.add_metric([totals.job], totals.last_success_started_at)
            lag.add_metric([totals.job], max(0.0, now - totals.last_success_started_at))
        if totals.last_duration_seconds is not None:
            duration.add_metric([totals.job], totals.last_duration_seconds)
        if totals.last_ended_at is not None:
            ended.add_metric([totals.job], totals.last_ended_at)
    return [objects, copied, slowdowns, runs_ended, success, success_start, lag, duration, ended]


def fleet_families(runs_by_state: dict[str, int], pending_batches: int, queue_messages: int) -> list[Metric]:
    runs = GaugeMetricFamily("bucketsync_runs", "Runs known to Redis (within the report TTL), by state.", labels=["state"])
    for state in RUN_STATES:
        runs.add_metric([state], runs_by_state.get(state, 0))
    pending = GaugeMetricFamily("bucketsync_pending_batches", "Copy batches of running runs not yet counted.")
    pending.add_metric([], pending_batches)
    queued = GaugeMetricFamily("bucketsync_queue_messages", "Messages waiting in the bucketsync queue.")
    queued.add_metric([], queue_messages)
    return [runs, pending, queued]


def watch_families(watches: dict[str, dict[str, Any]]) -> list[Metric]:
    """`bucketsync watch` on workers, per watch: what became of the announced changes, the lag from an
    event to its replica written and checked (per-bucket counts, made cumulative here), and changes
    published and not yet finished."""
    events = CounterMetricFamily("bucketsync_events", "Announced changes by what became of them.", labels=["watch", "result"])
    lag = HistogramMetricFamily("bucketsync_replication_lag_seconds",
                                "Seconds from a change's event time to its replica written and checked.", labels=["watch"])
    pending = GaugeMetricFamily("bucketsync_events_pending", "Changes taken in and not yet replicated.", labels=["watch"])
    for watch, totals in sorted(watches.items()):
        for result, count in sorted(totals["events"].items()):
            events.add_metric([watch, result], count)
        counts = totals["lag"]
        running, buckets = 0.0, []
        for bound in LAG_BUCKETS:
            running += counts.get(f"{bound:g}", 0.0)
            buckets.append((f"{bound:g}", running))
        buckets.append(("+Inf", running + counts.get("+Inf", 0.0)))
        lag.add_metric([watch], buckets, counts.get("sum", 0.0))
        pending.add_metric([watch], totals["pending"])
    return [events, lag, pending]


def exposition(families: list[Metric]) -> str:
    """The Prometheus text format of these families."""

    class Families:
        def collect(self) -> list[Metric]:
            return families

    return generate_latest(Families()).decode()


# ---------------------------------------------------------------- node_exporter's textfile collector


def totals_from_text(text: str) -> dict[str, JobTotals]:
    """Per-job totals read back from a textfile this module wrote (unknown series are ignored)."""
    found: dict[str, dict[str, Any]] = {}

    def of(job: str) -> dict[str, Any]:
        return found.setdefault(job, {"objects": {}, "runs_ended": {}})

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            job = sample.labels.get("job")
            if job is None:
                continue
            name, value = sample.name, sample.value
            if name == "bucketsync_objects_total":
                of(job)["objects"][sample.labels.get("result", "")] = int(value)
            elif name == "bucketsync_runs_ended_total":
                of(job)["runs_ended"][sample.labels.get("state", "")] = int(value)
            elif name == "bucketsync_bytes_copied_total":
                of(job)["bytes_copied"] = int(value)
            elif name == "bucketsync_slowdowns_total":
                of(job)["slowdowns"] = int(value)
            elif name == "bucketsync_run_last_success_timestamp_seconds":
                of(job)["last_success_at"] = value
            elif name == "bucketsync_run_last_success_start_timestamp_seconds":
                of(job)["last_success_started_at"] = value
            elif name == "bucketsync_run_duration_seconds":
                of(job)["last_duration_seconds"] = value
            elif name == "bucketsync_run_last_end_timestamp_seconds":
                of(job)["last_ended_at"] = value
    totals = {}
    for job, values in found.items():
        base = JobTotals(job)
        values["objects"] = {**base.objects, **values["objects"]}
        values["runs_ended"] = {**base.runs_ended, **values["runs_ended"]}
        totals[job] = JobTotals(job, **values)
    return totals


def write_textfile(path: Path, summary: RunSummary, now: float) -> None:
    """Add an ended run to the job's totals in `path` and rewrite it atomically (temp file, then rename).

    The counters go on from the values already in the file, so they only grow across cron runs; a
    missing or unreadable file starts them again from this run (Prometheus reads that as a reset).
    """
    path = Path(path)
    try:
        previous = totals_from_text(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = {}
    job = job_label(summary)
    previous[job] = add_run(previous.get(job, JobTotals(job)), summary)
    text = exposition(job_families(previous.values(), now))
    # node_exporter reads only *.prom files: the temporary name must not end in .prom.
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, prefix=".bucketsync-", suffix=".tmp",
                                     encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(handle.name, 0o644)
    os.replace(handle.name, path)
