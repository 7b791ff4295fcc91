"""The `bucketsync` command line: parse the arguments, call the engine, print the result.

Exit codes: 0 everything intended was done, 1 some objects failed (listed), 2 the run could not start or go
on, 130 interrupted.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import traceback
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, Optional

import typer
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.live import Live
from rich.text import Text

from .run import report
from .core.errors import BucketsyncError, UsageError
from .help_format import PlainHelpGroup
from .core.outcomes import RunSummary
from .core.settings import load_settings

if TYPE_CHECKING:
    from .core.filters import Filters

HELP = (
    "Replicate S3 buckets with their Object Lock state (retention, legal hold), metadata and tags: "
    "in this process, or on Celery workers when BUCKETSYNC_BROKER_URL is set.\n\n"
    "Exit codes: 0 everything intended was done, 1 some objects failed (listed in the report), "
    "2 the run could not start or go on, 130 interrupted."
)
DEBUG_VARIABLE = "BUCKETSYNC_DEBUG"

app = typer.Typer(cls=PlainHelpGroup, no_args_is_help=True, help=HELP)  # --install-completion: Typer's, for the shell in use
# soft_wrap: an error is one line however narrow the terminal; reports are not re-wrapped either.
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

log = logging.getLogger("bucketsync.cli")

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def debug_requested(environ=os.environ) -> bool:
    """BUCKETSYNC_DEBUG=1/true/yes/on, or --debug: log at DEBUG and show tracebacks of internal errors."""
    return environ.get(DEBUG_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def configure_logging(debug: bool) -> None:
    """With --debug: bucketsync's own log lines on stderr, DEBUG and up, tracebacks included. Otherwise the
    logging setup is left alone (warnings and errors reach stderr; a worker's Celery logging shows the rest)."""
    if not debug:
        return
    logger = logging.getLogger("bucketsync")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("bucketsync: %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


def _show_version(value: bool) -> None:
    if value:
        from . import __version__

        out.print(f"bucketsync {__version__}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def main_options(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True, help="print the version and exit"),
    debug: bool = typer.Option(False, "--debug", help=f"log at DEBUG, with tracebacks of internal errors ({DEBUG_VARIABLE}=1)"),
) -> None:
    if debug:
        os.environ[DEBUG_VARIABLE] = "1"
    configure_logging(debug_requested())


class ProgressDisplay:
    """A one-line live display on a TTY, refreshed at most ten times a second; silent elsewhere."""

    def __init__(self, console: Console) -> None:
        self._live = Live(Text("starting…"), console=console, transient=True, refresh_per_second=10) if console.is_terminal else None
        self._last = 0.0
        self._lock = threading.Lock()

    def __enter__(self) -> "ProgressDisplay":
        if self._live:
            self._live.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._live:
            self._live.__exit__(*exc)

    def update(self, summary: RunSummary) -> None:
        if not self._live:
            return
        now = time.monotonic()
        with self._lock:
            if now - self._last < 0.1:
                return
            self._last = now
        self._live.update(Text(report.progress_line(summary)))


def check_output_paths(report_json: Optional[Path], metrics_textfile: Optional[Path] = None) -> None:
    """Before the first request: each output file can be written where asked (exit 2, nothing copied)."""
    if report_json:
        report.check_output_path("--report-json", report_json)
    if metrics_textfile:
        report.check_output_path("--metrics-textfile", metrics_textfile)


def finish(
    summary: RunSummary, report_json: Optional[Path], exit_code: int | None = None,
    metrics_textfile: Optional[Path] = None,
) -> None:
    """The summary first, then the files: a file that cannot be written after all (disk full) is one more
    line and exit 2, the summary already shown."""
    out.print(report.render_text(summary), highlight=False, markup=False)
    if report_json:
        report.write_json(summary, report_json)
    if metrics_textfile and summary.state in ("finished", "failed"):
        from .ops.metrics import write_textfile

        try:
            write_textfile(metrics_textfile, summary, time.time())
        except OSError as exc:
            raise report.ReportNotWritten(
                f"cannot write the metrics to {metrics_textfile}: {exc.strerror or exc}"
            ) from None
    raise typer.Exit(summary.exit_code() if exit_code is None else exit_code)


def stopped_following(run_id: str) -> NoReturn:
    """Ctrl-C on an attached distributed run stops this terminal, not the run: say so, and how to find it."""
    err.print(
        f"bucketsync: stopped following run {run_id}; the run goes on in the workers. "
        f"Progress: `bucketsync status {run_id}`; if it stalls: `bucketsync resume {run_id}`",
        highlight=False, markup=False,
    )
    raise typer.Exit(EXIT_INTERRUPTED)


# Arguments and options shared by the commands that read both sides.
SourceUrl = Annotated[str, typer.Argument(metavar="SRC", help="s3://bucket or s3://bucket/prefix")]
DestUrl = Annotated[str, typer.Argument(metavar="DST", help="s3://bucket or s3://bucket/prefix")]
SourceEndpoint = Annotated[Optional[str], typer.Option(metavar="URL", help="S3 endpoint of the source (default: AWS)")]
DestEndpoint = Annotated[Optional[str], typer.Option(metavar="URL", help="S3 endpoint of the destination (default: AWS)")]
SourceProfile = Annotated[Optional[str], typer.Option(metavar="NAME", help="AWS profile for the source")]
DestProfile = Annotated[Optional[str], typer.Option(metavar="NAME", help="AWS profile for the destination")]


ExcludePatterns = Annotated[
    Optional[list[str]],
    typer.Option("--exclude", metavar="PATTERN", help="leave out keys matching PATTERN (relative to the prefix; "
                 "* any characters, ? one, [...] a set); repeatable, the last matching --exclude/--include wins"),
]
IncludePatterns = Annotated[
    Optional[list[str]],
    typer.Option("--include", metavar="PATTERN", help="take part again: keys matching PATTERN that an earlier "
                 "--exclude left out; repeatable"),
]


def filters_given(exclude: list[str] | None, include: list[str] | None, argv: list[str]) -> "Filters":
    """The --exclude / --include options in command-line order (Typer keeps the two lists apart, and the
    last matching filter wins), recovered from argv and checked against what Typer parsed."""
    from .core.filters import filters_from_argv

    filters = filters_from_argv(argv)
    for kind, parsed in (("exclude", exclude or []), ("include", include or [])):
        if [rule.pattern for rule in filters.rules if rule.kind == kind] != list(parsed):
            raise UsageError(f"cannot tell the order of the --exclude/--include options: write each as --{kind} PATTERN")
    return filters


def side_overrides(source_endpoint_url, dest_endpoint_url, source_profile, dest_profile) -> dict:
    return {
        "source": {"endpoint_url": source_endpoint_url, "profile": source_profile},
        "dest": {"endpoint_url": dest_endpoint_url, "profile": dest_profile},
    }


@app.command()
def sync(
    source: SourceUrl,
    destination: DestUrl,
    source_endpoint_url: SourceEndpoint = None,
    dest_endpoint_url: DestEndpoint = None,
    source_profile: SourceProfile = None,
    dest_profile: DestProfile = None,
    delete: bool = typer.Option(False, "--delete", help="delete destination keys the source no longer has"),
    dry_run: bool = typer.Option(False, "--dry-run", help="plan and report; write nothing"),
    report_json: Optional[Path] = typer.Option(None, metavar="PATH", help="write the run report as JSON to this path"),
    concurrency: Optional[int] = typer.Option(
        None, metavar="N", help="parallel object operations (default 64; BUCKETSYNC_CONCURRENCY)"
    ),
    broker_url: Optional[str] = typer.Option(None, metavar="URL", help="redis:// URL: run on Celery workers (BUCKETSYNC_BROKER_URL)"),
    detach: bool = typer.Option(False, "--detach", help="with a broker: print the run id and return at once"),
    metrics_textfile: Optional[Path] = typer.Option(
        None, metavar="PATH", help="add the run to the Prometheus series in this file (node_exporter textfile format, *.prom)"
    ),
    max_requests_per_second: Optional[float] = typer.Option(
        None, metavar="N", help="S3 requests per second toward each endpoint, all workers together (BUCKETSYNC_MAX_REQUESTS_PER_SECOND)"
    ),
    max_bandwidth: Optional[str] = typer.Option(
        None, metavar="BYTES", help="object bytes per second streamed through bucketsync, e.g. 50MiB (BUCKETSYNC_MAX_BANDWIDTH)"
    ),
    exclude: ExcludePatterns = None,
    include: IncludePatterns = None,
    storage_class: Optional[str] = typer.Option(
        None, metavar="CLASS", help="storage class of every copy, e.g. STANDARD_IA (default: each keeps its source's)"
    ),
    sse: Optional[str] = typer.Option(
        None, metavar="AES256|aws:kms", help="server-side encryption of every copy (SSE-C keys: BUCKETSYNC_*__SSE_C_KEY)"
    ),
    sse_kms_key_id: Optional[str] = typer.Option(None, metavar="ID", help="the KMS key for --sse aws:kms"),
    all_versions: Optional[bool] = typer.Option(
        None, "--all-versions/--no-all-versions", show_default=False,
        help="replicate every version and delete marker, oldest first, each with its lock (BUCKETSYNC_ALL_VERSIONS)",
    ),
) -> None:
    """Replicate SRC into DST with metadata, tags and Object Lock state."""
    from .run.context import prepare_run
    from .engine.pacing import RunPacing

    settings = load_settings(
        **side_overrides(source_endpoint_url, dest_endpoint_url, source_profile, dest_profile),
        concurrency=concurrency,
        broker_url=broker_url,
        max_requests_per_second=max_requests_per_second,
        max_bandwidth=max_bandwidth,
        all_versions=all_versions,
    )
    if detach and not settings.broker_url:
        raise UsageError("--detach needs a broker (--broker-url or BUCKETSYNC_BROKER_URL)")
    if settings.broker_url:
        from .core.settings import check_carriable

        if source_profile or dest_profile:  # a profile names credentials: those are each worker's own
            raise UsageError("--source-profile/--dest-profile are not sent to workers (they name credentials, which "
                             "each worker reads from its environment): set BUCKETSYNC_*__PROFILE on the workers")
        check_carriable(settings)
    if metrics_textfile and (detach or dry_run):
        raise UsageError("--metrics-textfile records a run that copies and ends here: not with --detach or --dry-run")
    filters = filters_given(exclude, include, sys.argv)
    check_output_paths(report_json, metrics_textfile)
    pacing = RunPacing.local(settings.max_requests_per_second, settings.max_bandwidth)
    request, ctx = prepare_run(
        settings, source, destination, delete=delete, dry_run=dry_run, pacing=pacing, filters=filters,
        storage_class=storage_class, sse=sse, sse_kms_key_id=sse_kms_key_id, all_versions=settings.all_versions,
    )
    log.debug("run %s: %s -> %s, %s", request.run_id, request.source, request.destination,
              "distributed" if settings.broker_url else "embedded")
    if settings.broker_url:
        from .distributed.submit import follow_run, submit_run

        try:
            ledger = submit_run(settings, request)
            if detach:
                out.print(request.run_id, highlight=False)
                raise typer.Exit(0)
            with ProgressDisplay(err) as display:
                summary = follow_run(
                    ledger, request.run_id, on_progress=display.update, stalled_after=settings.stalled_after_seconds
                )
        except KeyboardInterrupt:
            stopped_following(request.run_id)
        from .ops.job_totals import record_run_end_quietly

        record_run_end_quietly(ledger.redis, summary, ledger.ttl)  # run_finalise does too: the first one counts
    else:
        from .run.embedded import RunInterrupted, run_embedded
        from .run.embedded_versions import run_embedded_versions

        run = run_embedded_versions if request.all_versions else run_embedded
        try:
            with ProgressDisplay(err) as display:
                summary = run(ctx, request, on_progress=display.update)
        except RunInterrupted as stopped:
            stopped.summary.slowdowns = pacing.slowdowns.total
            err.print("bucketsync: interrupted; copies in flight were finished, queued ones not started", highlight=False)
            finish(stopped.summary, report_json, EXIT_INTERRUPTED, metrics_textfile)
        summary.slowdowns = pacing.slowdowns.total
    finish(summary, report_json, metrics_textfile=metrics_textfile)


@app.command()
def verify(
    source: SourceUrl,
    destination: DestUrl,
    source_endpoint_url: SourceEndpoint = None,
    dest_endpoint_url: DestEndpoint = None,
    source_profile: SourceProfile = None,
    dest_profile: DestProfile = None,
    json_output: bool = typer.Option(False, "--json", help="print the comparison as JSON"),
    all_versions: Optional[bool] = typer.Option(
        None, "--all-versions/--no-all-versions", show_default=False,
        help="compare whole version histories, each version's metadata, tags and lock (BUCKETSYNC_ALL_VERSIONS)",
    ),
    exclude: ExcludePatterns = None,
    include: IncludePatterns = None,
) -> None:
    """Compare SRC and DST without writing: keys, sizes, bytes, metadata, tags, lock state. Exit 1 on any
    difference. Takes the choices of `sync` that change what is compared: --exclude/--include, --all-versions
    and the SSE-C keys (BUCKETSYNC_SOURCE__SSE_C_KEY, BUCKETSYNC_DEST__SSE_C_KEY)."""
    from .run.verify import run_verify
    from .run.verify_versions import run_verify_versions

    settings = load_settings(
        **side_overrides(source_endpoint_url, dest_endpoint_url, source_profile, dest_profile), all_versions=all_versions
    )
    filters = filters_given(exclude, include, sys.argv)
    run = run_verify_versions if settings.all_versions else run_verify
    result = run(settings, source, destination, filters)
    if json_output:
        out.print_json(data=result.to_json())
    else:
        out.print(result.render_text(), highlight=False, markup=False)
    raise typer.Exit(result.exit_code())


# `status` exit codes: a script can tell a run that goes on from one that has ended, and how it ended.
STATUS_EXIT_CODES = {"finished": 0, "finished with failures": 1, "failed": 2, "running": 3, "stalled": 4}


def status_exit_code(summary: RunSummary) -> int:
    if summary.state in ("running", "stalled"):
        return STATUS_EXIT_CODES[summary.state]
    if summary.state == "failed":
        return STATUS_EXIT_CODES["failed"]
    return STATUS_EXIT_CODES["finished with failures" if summary.failed else "finished"]


@app.command(epilog=(
    "Exit codes: 0 finished, nothing failed; 1 finished, some objects failed; 2 the run failed (could not go "
    "on) or is not known; 3 still running; 4 stalled (no progress for BUCKETSYNC_STALLED_AFTER_SECONDS: "
    "`bucketsync resume RUN_ID`)."
))
def status(
    run_id: Optional[str] = typer.Argument(None, help="the run id printed by `sync --detach`; without it, the "
                                                     "watches on the workers and their counts"),
    json_output: bool = typer.Option(False, "--json", help="print the report as JSON"),
    pages: bool = typer.Option(False, "--pages", help="also one line per page with its totals"),
    broker_url: Optional[str] = typer.Option(None, metavar="URL", help="redis:// URL (BUCKETSYNC_BROKER_URL)"),
) -> None:
    """Show a distributed run's progress (objects handled in batches not counted yet included) or its final
    report. The exit code tells running from ended (below); --json gives the same for scripts. Without a
    RUN_ID: each `watch` on the workers, with what became of its changes, how many wait, its last change."""
    from .distributed.submit import open_ledger

    settings = load_settings(broker_url=broker_url)
    if not settings.broker_url:
        raise UsageError("status needs a broker (--broker-url or BUCKETSYNC_BROKER_URL)")
    ledger = open_ledger(settings)
    if run_id is None:
        from .ops_cli import show_watches

        show_watches(ledger.redis, json_output)
        return
    summary = ledger.summary(run_id, settings.stalled_after_seconds)
    if summary is None:
        raise UsageError(f"run {run_id} is not known (never submitted, or its report expired)")
    page_summaries = ledger.page_summaries(run_id) if pages else None
    if json_output:
        out.print_json(data=summary.to_json() | ({"pages": page_summaries} if pages else {}))
    else:
        out.print(report.render_text(summary), highlight=False, markup=False)
        if page_summaries is not None:
            from .ops_cli import page_table

            out.print(page_table(page_summaries), highlight=False, markup=False)
    raise typer.Exit(status_exit_code(summary))


@app.command()
def resume(
    run_id: str = typer.Argument(..., help="the id of a stalled distributed run"),
    broker_url: Optional[str] = typer.Option(None, metavar="URL", help="redis:// URL (BUCKETSYNC_BROKER_URL)"),
    detach: bool = typer.Option(False, "--detach", help="return at once instead of following the run"),
    report_json: Optional[Path] = typer.Option(None, metavar="PATH", help="write the final report as JSON to this path"),
) -> None:
    """Finish a stalled distributed run without copying again what it already copied."""
    from .distributed.submit import follow_run, resume_run

    settings = load_settings(broker_url=broker_url)
    if not settings.broker_url:
        raise UsageError("resume needs a broker (--broker-url or BUCKETSYNC_BROKER_URL)")
    check_output_paths(report_json)
    ledger, what_was_republished = resume_run(settings, run_id)
    err.print(what_was_republished, highlight=False, markup=False)
    if detach:
        raise typer.Exit(0)
    try:
        with ProgressDisplay(err) as display:
            summary = follow_run(ledger, run_id, on_progress=display.update, stalled_after=settings.stalled_after_seconds)
    except KeyboardInterrupt:
        stopped_following(run_id)
    finish(summary, report_json)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def worker(
    ctx: typer.Context,
    processes: Optional[int] = typer.Option(
        None, "--processes", metavar="N", help="worker processes, each copying with up to BUCKETSYNC_CONCURRENCY threads "
        "(default: number of CPUs)",
    ),
    old_processes: Optional[int] = typer.Option(None, "--concurrency", hidden=True, help="deprecated: --processes"),
    queues: Optional[str] = typer.Option(None, metavar="NAMES", help="comma-separated queues to consume (default: bucketsync)"),
    loglevel: str = typer.Option("INFO", metavar="LEVEL", help="log level"),
) -> None:
    """Start a Celery worker for bucketsync, with task events on (Flower sees it). Extra args go to celery."""
    settings = load_settings()
    if not settings.broker_url:
        raise UsageError("the worker needs BUCKETSYNC_BROKER_URL (a redis:// URL)")
    from .ops_cli import start_worker

    if old_processes is not None:
        # `--concurrency` means parallel object operations everywhere else (sync, BUCKETSYNC_CONCURRENCY)
        err.print("bucketsync: worker --concurrency is deprecated: use --processes", highlight=False)
    processes = processes or old_processes
    argv = ["worker", "-E", f"--loglevel={loglevel}"]
    if processes:
        argv.append(f"--concurrency={processes}")
    argv.append(f"--queues={queues or 'bucketsync'}")
    start_worker(settings, argv + list(ctx.args))


@app.command()
def exporter(
    address: str = typer.Option("127.0.0.1", metavar="ADDRESS", help="address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(9808, min=1, max=65535, metavar="PORT", help="port to listen on (1-65535)"),
    broker_url: Optional[str] = typer.Option(None, metavar="URL", help="redis:// URL (BUCKETSYNC_BROKER_URL)"),
) -> None:
    """Serve Prometheus metrics on /metrics: job totals, replication lag, runs and queue, read from Redis."""
    from .distributed.submit import open_ledger
    from .ops.exporter import serve

    settings = load_settings(broker_url=broker_url)
    if not settings.broker_url:
        raise UsageError("the exporter needs a broker (--broker-url or BUCKETSYNC_BROKER_URL)")
    ledger = open_ledger(settings)
    err.print(f"bucketsync exporter: http://{address}:{port}/metrics", highlight=False, markup=False)
    try:
        serve(ledger.redis, address, port, settings.stalled_after_seconds)
    except OSError as exc:
        raise UsageError(f"cannot listen on {address}:{port}: {exc.strerror or exc}") from None


@app.command()
def demo(
    objects: int = typer.Option(12, min=3, max=10_000, metavar="N", help="objects to create in the demo source bucket (3-10000)"),
) -> None:
    """Start a throwaway local S3 server, replicate locked objects, and check the destination's locks."""
    from .ops.demo import run_demo

    raise typer.Exit(run_demo(objects, out))


@app.command()
def watch(
    source: SourceUrl,
    destination: DestUrl,
    events_http: Optional[str] = typer.Option(
        None, metavar="[HOST:]PORT", help="take the server's HTTP pushes here (RGW push-endpoint, MinIO webhook); "
        "HOST defaults to 127.0.0.1 (BUCKETSYNC_EVENTS__HTTP)"),
    events_amqp: Optional[str] = typer.Option(
        None, metavar="URL", help="amqp://USER:PASS@HOST:PORT/VHOST?exchange=EXCHANGE[&topic=TOPIC]: consume the "
        "exchange the server publishes to (BUCKETSYNC_EVENTS__AMQP_URL)"),
    events_sqs: Optional[str] = typer.Option(
        None, metavar="QUEUE_URL", help="the SQS queue the bucket's notifications go to (BUCKETSYNC_EVENTS__SQS_QUEUE_URL)"),
    journal: Optional[Path] = typer.Option(
        None, help="file of changes taken in and not yet replicated (BUCKETSYNC_EVENTS__JOURNAL; default under "
        "$XDG_STATE_HOME/bucketsync)"),
    metrics_port: Optional[int] = typer.Option(
        None, help="serve the watch's metrics on 127.0.0.1:PORT/metrics (BUCKETSYNC_EVENTS__METRICS_PORT)"),
    source_endpoint_url: SourceEndpoint = None,
    dest_endpoint_url: DestEndpoint = None,
    source_profile: SourceProfile = None,
    dest_profile: DestProfile = None,
    delete: bool = typer.Option(False, "--delete", help="a key removed from the source is removed from the destination"),
    concurrency: Optional[int] = typer.Option(None, help="keys replicated at once (default 64)"),
    exclude: ExcludePatterns = None,
    include: IncludePatterns = None,
    storage_class: Optional[str] = typer.Option(None, metavar="CLASS", help="storage class of every copy"),
    sse: Optional[str] = typer.Option(None, metavar="AES256|aws:kms", help="server-side encryption of every copy"),
    sse_kms_key_id: Optional[str] = typer.Option(None, metavar="ID", help="the KMS key for --sse aws:kms"),
) -> None:
    """Replicate each change SRC announces (bucket notifications) into DST, until stopped.

    Each announced key is replicated from both sides' current state, with metadata, tags and Object Lock
    exactly as `sync` does. Lock changes announce nothing on AWS and RGW: keep a scheduled `sync` beside it.
    """
    import signal
    import threading

    from .run.context import prepare_run
    from .run.watch_run import WatchService, check_event_sources, default_journal

    settings = load_settings(
        **side_overrides(source_endpoint_url, dest_endpoint_url, source_profile, dest_profile),
        concurrency=concurrency,
        events={"http": events_http, "amqp_url": events_amqp, "sqs_queue_url": events_sqs,
                "journal": str(journal) if journal else None, "metrics_port": metrics_port},
    )
    check_event_sources(settings)
    filters = filters_given(exclude, include, sys.argv)
    request, ctx = prepare_run(settings, source, destination, delete=delete, filters=filters,
                               storage_class=storage_class, sse=sse, sse_kms_key_id=sse_kms_key_id,
                               all_versions=settings.all_versions)
    if settings.broker_url:
        from .distributed.watch_intake import DistributedWatch

        service = DistributedWatch(settings, request)
        where = f"workers through the broker; counts in `bucketsync exporter` as watch={service.watch}"
    else:
        path = Path(settings.events.journal) if settings.events.journal else default_journal(request)
        service = WatchService(settings, request, ctx, path)
        where = f"this process; journal {path}"
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    service.start()
    err.print(f"bucketsync: watching {request.source} -> {request.destination} ({where}); Ctrl-C stops",
              highlight=False, markup=False)
    while not stop.wait(1):
        pass
    err.print("bucketsync: stopping: taking no more changes, finishing those in flight", highlight=False)
    service.stop()
    if settings.broker_url:
        out.print(f"watch: {service.published} changes handed to the workers", highlight=False, markup=False)
    else:
        counts = service.watcher.counts
        out.print("watch: " + (", ".join(f"{name} {counts[name]}" for name in sorted(counts)) or "nothing announced"),
                  highlight=False, markup=False)
    raise typer.Exit(0)


from . import ops_cli  # noqa: E402  (beat, schedules, runs)

ops_cli.register(app)


def _click_exceptions():
    """Typer >= 0.20 vendors click as typer._click; older releases use click itself."""
    try:
        from typer._click import exceptions
    except ImportError:
        from click import exceptions
    return exceptions


def main() -> None:
    click_exceptions = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except SystemExit:
        raise
    except BucketsyncError as exc:
        err.print(f"bucketsync: {exc}", highlight=False, markup=False)
        sys.exit(EXIT_ERROR)
    except (ClientError, BotoCoreError) as exc:
        from .engine import s3  # boto3 loads only for commands that talk to S3

        err.print(f"bucketsync: S3 error: {s3.describe(exc)}", highlight=False, markup=False)
        sys.exit(EXIT_ERROR)
    except (KeyboardInterrupt, getattr(click_exceptions, "Abort", KeyboardInterrupt)):
        err.print("bucketsync: interrupted", highlight=False)
        sys.exit(EXIT_INTERRUPTED)
    except click_exceptions.ClickException as exc:  # usage errors: one line, and where to look
        err.print(f"bucketsync: {exc.format_message()} (see --help)", highlight=False, markup=False)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # anything unexpected: one line; the traceback with --debug
        if debug_requested():
            traceback.print_exc(file=sys.stderr)
        err.print(f"bucketsync: internal error: {type(exc).__name__}: {exc}", highlight=False, markup=False)
        sys.exit(EXIT_ERROR)
    # standalone_mode=False hands back typer.Exit codes instead of raising them
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
