"""The contenders: how each tool is started for one sync job, and what it tells about itself afterwards.

Every tool runs at its own defaults (concurrency included) with a clean environment: no ~/.aws, no
rclone.conf, no stray AWS_* / BUCKETSYNC_* / RCLONE_* variables; only the endpoint and credentials.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cluster import Cluster, redis_binary
from common import BENCH_DIR, VENV_BIN, Endpoint
from install import Found
from measure import Measurement

# Lock-carrying flags for rclone (≥ 1.74). moto refuses lock headers on CopyObject, so rclone sets the
# lock with separate requests right after each copy (--s3-object-lock-set-after-upload).
RCLONE_LOCK_FLAGS = [
    "--metadata",
    "--s3-object-lock-mode", "copy",
    "--s3-object-lock-retain-until-date", "copy",
    "--s3-object-lock-legal-hold-status", "copy",
    "--s3-object-lock-set-after-upload",
]

PEER = "peer"
OURS = "bucketsync"
CEILING = "ceiling"


@dataclass
class Job:
    """One sync to run: source bucket -> destination bucket, on one endpoint or (dest_endpoint) two."""

    endpoint: Endpoint
    source: str
    dest: str
    locks: bool  # the workload carries Object Lock state
    workdir: Path
    name: str  # file-name stem for this run's output files
    all_versions: bool = False  # W8: replicate whole version histories
    dest_endpoint: Endpoint | None = None  # W7 streamed: the destination's server, when not the source's

    @property
    def target(self) -> Endpoint:
        """The destination's endpoint."""
        return self.dest_endpoint or self.endpoint

    def one_endpoint(self, tool: str) -> Endpoint:
        """The endpoint of a tool that takes only one; a job across two servers is a harness error."""
        if self.dest_endpoint is not None and self.dest_endpoint != self.endpoint:
            raise ValueError(f"{tool} takes one endpoint; this job has two")
        return self.endpoint


@dataclass
class Command:
    argv: list[str]
    env: dict[str, str]


def clean_env(job: Job) -> dict[str, str]:
    home = job.workdir / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKETSYNC_", "RCLONE_", "BOTO_"))}
    empty = job.workdir / "empty.conf"
    empty.touch()
    env.update(
        HOME=str(home),
        PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        AWS_ACCESS_KEY_ID=job.endpoint.access_key_id,
        AWS_SECRET_ACCESS_KEY=job.endpoint.secret_access_key,
        AWS_DEFAULT_REGION=job.endpoint.region,
        AWS_REGION=job.endpoint.region,
        AWS_CONFIG_FILE=str(empty),
        AWS_SHARED_CREDENTIALS_FILE=str(empty),
        AWS_EC2_METADATA_DISABLED="true",
        RCLONE_CONFIG=str(empty),
    )
    return env


class Services:
    """Processes a tool needs beside its timed command; account() adds their usage to the measurement."""

    def account(self, measurement: Measurement) -> Measurement:
        return measurement


NO_SERVICES = Services()


@dataclass
class Tool:
    name: str
    role: str  # OURS, PEER or CEILING
    path: str | None
    version: str | None = None
    reason: str | None = None  # why it does not run (unavailable, or not for this workload)
    notes: list[str] = field(default_factory=list)

    def command(self, job: Job) -> Command:
        raise NotImplementedError

    def extras(self, job: Job, measurement: Measurement) -> dict:
        """Figures the tool reports about itself (unprotected seconds, failures)."""
        return {}

    @contextmanager
    def services(self, job: Job) -> Iterator["Services"]:
        """What must run around the timed command (bucketsync's workers and Redis); nothing for most."""
        yield NO_SERVICES

    def describe(self) -> dict:
        return {"name": self.name, "role": self.role, "path": self.path, "version": self.version,
                "reason": self.reason, "notes": self.notes}


class BucketsyncEmbedded(Tool):
    """`bucketsync sync` from the .venv (the checkout's working tree, installed editable), or, where
    `source_dir` is set (--bucketsync-rev), from that exported revision via PYTHONPATH."""

    source_dir: str | None = None
    listing_ranges: int | None = None  # BUCKETSYNC_LISTING_RANGES of the run (None: its default)

    def command(self, job: Job) -> Command:
        env = clean_env(job)
        if self.listing_ranges is not None:
            env["BUCKETSYNC_LISTING_RANGES"] = str(self.listing_ranges)
        program = [self.path]
        if self.source_dir:
            env["PYTHONPATH"] = self.source_dir
            program = [sys.executable, "-P", "-m", "bucketsync.cli"]  # -P: not the checkout in the working directory
        self._with_credentials(env, job)
        report = job.workdir / f"{job.name}.report.json"
        argv = [*program, "sync", f"s3://{job.source}", f"s3://{job.dest}",
                "--source-endpoint-url", job.endpoint.url, "--dest-endpoint-url", job.target.url,
                "--report-json", str(report)]
        if job.all_versions:
            argv.append("--all-versions")
        return Command(argv, env)

    @staticmethod
    def _with_credentials(env: dict[str, str], job: Job) -> dict[str, str]:
        for side, endpoint in (("SOURCE", job.endpoint), ("DEST", job.target)):
            env[f"BUCKETSYNC_{side}__ACCESS_KEY_ID"] = endpoint.access_key_id
            env[f"BUCKETSYNC_{side}__SECRET_ACCESS_KEY"] = endpoint.secret_access_key
            env[f"BUCKETSYNC_{side}__REGION"] = endpoint.region
        return env

    def extras(self, job: Job, measurement: Measurement) -> dict:
        report = job.workdir / f"{job.name}.report.json"
        if not report.exists():
            return {"report": None}
        data = json.loads(report.read_text())
        keep = ("listed", "copied", "skipped", "lock_updated", "failed", "lock_set_after_write", "max_unprotected_seconds")
        extras = {name: data.get(name) for name in keep}
        extras["unprotected_seconds"] = data.get("max_unprotected_seconds", 0.0)
        if data.get("failures"):
            extras["first_failures"] = data["failures"][:3]
        return extras


class BucketsyncDistributed(BucketsyncEmbedded):
    """`bucketsync sync` with BUCKETSYNC_BROKER_URL, run by one `bucketsync worker` with `workers` pool
    processes over a redis-server of its own (bench/cluster.py), both started before the timed run."""

    def __init__(self, workers: int, path: str | None, version: str | None, reason: str | None) -> None:
        super().__init__(f"bucketsync-dist-{workers}w", OURS, path, version=version, reason=reason)
        self.workers = workers
        self._cluster: Cluster | None = None

    @contextmanager
    def services(self, job: Job) -> Iterator["Services"]:
        worker_env = self._with_credentials(clean_env(job), job)
        for side, endpoint in (("SOURCE", job.endpoint), ("DEST", job.target)):
            worker_env[f"BUCKETSYNC_{side}__ENDPOINT_URL"] = endpoint.url
        program = [self.path]
        if self.source_dir:
            worker_env["PYTHONPATH"] = self.source_dir
            program = [sys.executable, "-P", "-m", "bucketsync.cli"]
        with Cluster(self.workers, [*program, "worker"], worker_env, job.workdir, job.name) as cluster:
            self._cluster = cluster
            try:
                yield cluster
            finally:
                self._cluster = None

    def command(self, job: Job) -> Command:
        command = super().command(job)
        assert self._cluster is not None, "command() outside services()"
        command.env["BUCKETSYNC_BROKER_URL"] = self._cluster.broker_url
        return command

    def extras(self, job: Job, measurement: Measurement) -> dict:
        extras = super().extras(job, measurement)
        if self._cluster is not None:
            extras.update(self._cluster.figures)
        return extras


class AwsSync(Tool):
    def command(self, job: Job) -> Command:
        return Command([self.path, "s3", "sync", f"s3://{job.source}/", f"s3://{job.dest}/",
                        "--endpoint-url", job.one_endpoint(self.name).url, "--only-show-errors", "--no-progress"], clean_env(job))


class AwsSyncLockLoop(Tool):
    """W4: `aws s3 sync` then the runbook's serial per-object lock loop (bench/lock_loop.sh)."""

    def command(self, job: Job) -> Command:
        return Command(["bash", str(BENCH_DIR / "lock_loop.sh"), job.source, job.dest, job.one_endpoint(self.name).url],
                       clean_env(job))

    def extras(self, job: Job, measurement: Measurement) -> dict:
        marks: dict[str, float] = {}
        for line in measurement.stdout().splitlines():
            name, _, value = line.partition(" ")
            if name in ("sync_start", "sync_end", "loop_end", "errors"):
                try:
                    marks[name] = float(value)
                except ValueError:
                    pass
        extras: dict = {"loop_errors": int(marks.get("errors", -1))}
        if {"sync_start", "sync_end", "loop_end"} <= marks.keys():
            extras["sync_seconds"] = round(marks["sync_end"] - marks["sync_start"], 3)
            extras["loop_seconds"] = round(marks["loop_end"] - marks["sync_end"], 3)
            # Every copy exists by sync_end; the loop reaches the last locked key just before loop_end.
            extras["unprotected_seconds"] = extras["loop_seconds"]
        return extras


class S5cmdSync(Tool):
    def command(self, job: Job) -> Command:
        return Command([self.path, "--endpoint-url", job.one_endpoint(self.name).url, "--log", "error",
                        "sync", f"s3://{job.source}/*", f"s3://{job.dest}/"], clean_env(job))


class RcloneSync(Tool):
    """`rclone sync bench:SRC bench:DST`; across two servers `bench:SRC benchdst:DST` (a second remote:
    rclone then downloads and uploads, as it does not copy server-side between remotes by default)."""

    extra_args: tuple[str, ...] = ()

    @staticmethod
    def _remote(env: dict[str, str], name: str, endpoint: Endpoint) -> None:
        prefix = f"RCLONE_CONFIG_{name.upper()}_"
        env.update({
            prefix + "TYPE": "s3",
            prefix + "PROVIDER": "Other",
            prefix + "ENDPOINT": endpoint.url,
            prefix + "REGION": endpoint.region,
            prefix + "ACCESS_KEY_ID": endpoint.access_key_id,
            prefix + "SECRET_ACCESS_KEY": endpoint.secret_access_key,
            prefix + "FORCE_PATH_STYLE": "true",
        })

    def command(self, job: Job) -> Command:
        env = clean_env(job)
        self._remote(env, "bench", job.endpoint)
        dest_remote = "bench"
        if job.dest_endpoint is not None:
            dest_remote = "benchdst"
            self._remote(env, dest_remote, job.dest_endpoint)
        argv = [self.path, "sync", f"bench:{job.source}", f"{dest_remote}:{job.dest}", *self.extra_args]
        if job.locks:
            argv += RCLONE_LOCK_FLAGS
        return Command(argv, env)


class Ceiling(Tool):
    def __init__(self, threads: int) -> None:
        super().__init__("ceiling", CEILING, str(BENCH_DIR / "ceiling.py"), version=f"boto3, {threads} threads")
        self.threads = threads

    def command(self, job: Job) -> Command:
        endpoint = job.one_endpoint(self.name)
        argv = [sys.executable, self.path, "--endpoint-url", endpoint.url, "--region", endpoint.region,
                "--source", job.source, "--dest", job.dest, "--threads", str(self.threads)]
        if job.locks:
            argv.append("--locks")
        if job.all_versions:
            argv.append("--all-versions")
        return Command(argv, clean_env(job))

    def extras(self, job: Job, measurement: Measurement) -> dict:
        lines = measurement.stdout().strip().splitlines()
        try:
            data = json.loads(lines[-1]) if lines else {}
        except json.JSONDecodeError:
            return {}
        return {**data, "unprotected_seconds": 0.0}


def make_tools(found: dict[str, Found], ceiling_threads: int, bucketsync_source: tuple[str, str] | None = None) -> dict[str, Tool]:
    """Every tool by name; those that cannot run carry their reason.

    bucketsync_source: (revision, directory) of an exported bucketsync to measure instead of the .venv's.
    """
    bucketsync = str(VENV_BIN / "bucketsync")
    ours = BucketsyncEmbedded("bucketsync", OURS, bucketsync, version=_bucketsync_version(),
                              reason=None if Path(bucketsync).exists() else "bucketsync is not installed in .venv")
    if bucketsync_source:
        revision, directory = bucketsync_source
        ours.source_dir = directory
        ours.version = f"{ours.version} at {revision}"
    tools: dict[str, Tool] = {
        "bucketsync": ours,
        "aws": AwsSync("aws", PEER, found["aws"].path, found["aws"].version, found["aws"].reason),
        "aws+loop": AwsSyncLockLoop("aws+loop", PEER, found["aws"].path, found["aws"].version, found["aws"].reason),
        "s5cmd": S5cmdSync("s5cmd", PEER, found["s5cmd"].path, found["s5cmd"].version, found["s5cmd"].reason),
        "rclone": RcloneSync("rclone", PEER, found["rclone"].path, found["rclone"].version, found["rclone"].reason),
        "ceiling": Ceiling(ceiling_threads),
    }
    redis_missing = None if redis_binary() else "redis-server not found (scripts/test installs it)"
    for flags, name in (((), "rclone-checksum"), (("--fast-list",), "rclone-fast-list")):
        # W6: --checksum (size and ETag): without it rclone rewrites every object lacking its mtime metadata.
        variant = RcloneSync(name, PEER, found["rclone"].path, found["rclone"].version, found["rclone"].reason)
        variant.extra_args = ("--checksum", *flags)
        tools[name] = variant
    for workers in (1, 2, 4):
        tool = BucketsyncDistributed(workers, ours.path, ours.version, ours.reason or redis_missing)
        tool.source_dir = ours.source_dir
        tools[tool.name] = tool
    # One listing stream (BUCKETSYNC_LISTING_RANGES=1), beside the default key ranges.
    one_stream = BucketsyncEmbedded("bucketsync-1range", OURS, ours.path, version=ours.version, reason=ours.reason)
    one_stream.listing_ranges = 1
    tools[one_stream.name] = one_stream
    for workers in (1, 4):
        tool = BucketsyncDistributed(workers, ours.path, ours.version, ours.reason or redis_missing)
        tool.name = f"{tool.name}-1range"
        tool.listing_ranges = 1
        tools[tool.name] = tool
    return tools


def _bucketsync_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("bucketsync")
    except Exception:
        return None
