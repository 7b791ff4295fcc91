"""Operating commands: `bucketsync beat`, `bucketsync schedules`, `bucketsync runs` (registered in cli.py).

Errors print one line, `bucketsync: …`, and exit 2 (written here directly, so a long message is never
wrapped at the terminal width).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional, TypeVar

import typer

from .core.errors import BucketsyncError, SettingsError, UsageError
from .core.settings import load_settings

EXIT_ERROR = 2
F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(command: F) -> F:
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except BucketsyncError as exc:
            print(f"bucketsync: {' '.join(str(exc).split())}", file=sys.stderr, flush=True)
            raise SystemExit(EXIT_ERROR) from None

    return wrapper  # type: ignore[return-value]


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M:%S")


def _table(header: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def page_table(pages: list[dict[str, Any]]) -> str:
    """`bucketsync status --pages`: one line per page with its totals (from the page's chord callback)."""
    from .run.report import human_bytes

    if not pages:
        return "no pages listed yet"
    rows = []
    for page in pages:
        counted = page["done"] or not page.get("batches")
        shown = {name: str(page.get(name, 0)) if counted else "-" for name in
                 ("copied", "lock_updated", "deleted", "failed", "vanished")}
        rows.append([
            str(page["page"]), str(page.get("range", "-")), str(page.get("listed", "-")), str(page.get("skipped", "-")), str(page.get("batches", "-")),
            shown["copied"] + (f" ({human_bytes(page.get('bytes_copied', 0))})" if counted else ""),
            shown["lock_updated"], shown["deleted"], shown["failed"], shown["vanished"],
            "done" if counted else (f"copying, {page['handled']} handled" if page.get("handled") else "copying"),
        ])
    header = ["PAGE", "RANGE", "LISTED", "SKIPPED", "BATCHES", "COPIED", "LOCK-UPD", "DELETED", "FAILED", "VANISHED",
              "STATE"]
    return _table(header, rows, right=set(range(10)))


WATCH_RESULTS = ("copied", "skipped", "deleted", "lock_updated", "failed", "vanished", "duplicate")


def watch_rows(totals: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each watch's counts as `status` shows them (watch_counts.watch_totals), by name."""
    return [
        {"watch": watch, "pending": counts["pending"],
         **{result: int(counts["events"].get(result, 0)) for result in WATCH_RESULTS},
         "looks": int(counts["lag"].get("count", 0)),
         "lag_mean_seconds": round(counts["lag"]["sum"] / counts["lag"]["count"], 3) if counts["lag"].get("count") else None,
         "last_event": datetime.fromtimestamp(counts["last_event"], timezone.utc).isoformat()
         if counts.get("last_event") else None}
        for watch, counts in sorted(totals.items())
    ]


def show_watches(redis_client, json_output: bool) -> None:
    """`bucketsync status` without a run id: the watches on the workers (from their counts in Redis)."""
    from .distributed.watch_counts import watch_totals

    rows = watch_rows(watch_totals(redis_client))
    if json_output:
        print(json.dumps(rows, indent=2), flush=True)
        return
    if not rows:
        print("no watch has published changes to the workers (give a RUN_ID for a run's status)", file=sys.stderr,
              flush=True)
        return
    header = ["WATCH", "LAST EVENT (UTC)", "PENDING", "COPIED", "SKIPPED", "DELETED", "LOCK-UPD", "FAILED", "VANISHED",
              "DUPLICATE", "MEAN LAG"]
    table = [[row["watch"], _when(row["last_event"]), str(row["pending"]),
              *(str(row[result]) for result in WATCH_RESULTS),
              f"{row['lag_mean_seconds']:.2f} s" if row["lag_mean_seconds"] is not None else "-"] for row in rows]
    print(_table(header, table, right=set(range(2, 11))), flush=True)


# ---------------------------------------------------------------- schedules


@one_line_errors
def schedules(
    json_output: bool = typer.Option(False, "--json", help="print the schedules as JSON"),
) -> None:
    """List the scheduled jobs (BUCKETSYNC_SCHEDULES or BUCKETSYNC_SCHEDULES_FILE) with their next run time."""
    from .ops.schedules import load_schedules

    found = load_schedules()
    items = []
    for item in found:
        job = item.job()
        items.append({
            "name": item.name, "cron": item.cron, "next_run": item.next_run().isoformat(),
            "source": job.source, "destination": job.destination, "delete": job.delete,
        })
    if json_output:
        print(json.dumps(items, indent=2))
        return
    if not items:
        print("no schedules (set BUCKETSYNC_SCHEDULES or BUCKETSYNC_SCHEDULES_FILE)", file=sys.stderr)
        return
    rows = [[i["name"], i["cron"], _when(i["next_run"]), f"{i['source']} -> {i['destination']}",
             "yes" if i["delete"] else "no"] for i in items]
    print(_table(["JOB", "WHEN (UTC)", "NEXT RUN (UTC)", "SOURCE -> DESTINATION", "DELETE"], rows, set()))


# ---------------------------------------------------------------- worker


def start_worker(settings: Any, argv: list[str]) -> None:
    """Run a Celery worker configured from `settings` (the ones the starting command loaded): its Celery
    app and the settings its tasks use are those, not a second reading of the environment."""
    from .distributed import runtime
    from .distributed.celery_app import configure
    from .tasks import app as celery_app  # registers every task

    configure(celery_app, settings)
    runtime.use_settings(settings)
    celery_app.worker_main(argv)


# ---------------------------------------------------------------- beat


@one_line_errors
def beat(
    loglevel: str = typer.Option("INFO", metavar="LEVEL", help="log level"),
    schedule_file: Path = typer.Option(
        Path("bucketsync-beat-schedule"), help="where beat keeps the time of each job's last trigger"
    ),
) -> None:
    """Run celery beat with the scheduled jobs (one beat per deployment); a trigger is skipped while the
    job's previous run is still going."""
    from .ops.schedules import SCHEDULES_FILE_VAR, SCHEDULES_VAR, beat_schedule, load_schedules

    settings = load_settings()
    if not settings.broker_url:
        raise UsageError("beat needs BUCKETSYNC_BROKER_URL (a redis:// URL)")
    found = load_schedules()
    if not found:
        raise SettingsError(f"no schedules: set {SCHEDULES_VAR} or {SCHEDULES_FILE_VAR}")
    from .distributed.celery_app import app as celery_app
    from .distributed.celery_app import configure
    from .core.messages import SCHEDULED_RUN

    configure(celery_app, settings)
    celery_app.conf.beat_schedule = beat_schedule(found, SCHEDULED_RUN)
    for item in found:
        job = item.job()
        print(f"bucketsync beat: job {item.name}: {item.cron} (next {item.next_run().isoformat()}) "
              f"{job.source} -> {job.destination}{' --delete' if job.delete else ''}", file=sys.stderr, flush=True)
    celery_app.Beat(loglevel=loglevel, schedule=str(schedule_file)).run()


# ---------------------------------------------------------------- runs


def run_rows(ledger: Any, limit: int, job: str | None, stalled_after: float | None = None) -> list[dict[str, Any]]:
    """The newest runs in the ledger (of one job, if given), as JSON-safe rows; running runs without
    progress for `stalled_after` seconds show as stalled."""
    rows: list[dict[str, Any]] = []
    for run_id in ledger.run_ids_newest_first(chunk=max(limit, 50)):
        request = ledger.request(run_id)
        if request is None or (job is not None and request.get("job") != job):
            continue
        summary = ledger.summary(run_id, stalled_after)
        if summary is None:
            continue
        data = summary.to_json()
        data["job"] = request.get("job")
        data["note"] = ledger.note(run_id)
        for name in ("failures", "vanished_keys", "lock_refusals"):
            data[name] = data[name][:10]
        rows.append(data)
        if len(rows) == limit:
            break
    return rows


@one_line_errors
def runs(
    json_output: bool = typer.Option(False, "--json", help="print the runs as JSON (at most 10 failures each)"),
    limit: int = typer.Option(20, min=1, max=1000, metavar="N", help="how many runs to show, newest first (1-1000)"),
    job: Optional[str] = typer.Option(None, metavar="NAME", help="only the runs of this scheduled job"),
    broker_url: Optional[str] = typer.Option(None, metavar="URL", help="redis:// URL (BUCKETSYNC_BROKER_URL)"),
) -> None:
    """List recent distributed runs (scheduled ones with their job): start, state, counts, failures."""
    from .distributed.submit import open_ledger
    from .run.report import human_bytes

    settings = load_settings(broker_url=broker_url)
    if not settings.broker_url:
        raise UsageError("runs needs a broker (--broker-url or BUCKETSYNC_BROKER_URL)")
    rows = run_rows(open_ledger(settings), limit, job, settings.stalled_after_seconds)
    if json_output:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        print("no runs recorded", file=sys.stderr)
        return
    table = []
    for row in rows:
        took = row.get("duration_seconds")
        why = row.get("note") or row.get("error") or ""
        if row["failures"]:
            first = row["failures"][0]
            why = (why + "; " if why else "") + f"first failure {first['key']!r}: {first['reason']}"
        table.append([
            _when(row["started_at"]), row["job"] or "-", row["run_id"], row["state"],
            str(row["listed"]), f"{row['copied']} ({human_bytes(row['bytes_copied'])})", str(row["skipped"]),
            str(row["lock_updated"]), str(row["deleted"]), str(row["failed"]),
            f"{took:.1f} s" if took is not None else "-", why,
        ])
    header = ["STARTED (UTC)", "JOB", "RUN", "STATE", "LISTED", "COPIED", "SKIPPED", "LOCK-UPD", "DELETED",
              "FAILED", "TOOK", "NOTE"]
    print(_table(header, table, right={4, 5, 6, 7, 8, 9, 10}))


def register(app: typer.Typer) -> None:
    app.command()(beat)
    app.command()(schedules)
    app.command()(runs)
