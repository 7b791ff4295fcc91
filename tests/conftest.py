"""Real parts, started once per test run and always stopped: a moto S3 server (two, for cross-endpoint
runs), a single-node Ceph with radosgw, and a redis-server on free ports. Each test gets fresh buckets and
a clean environment.

The contract tests take the `s3_server` fixture and run once per S3 server: moto, Ceph RGW, and an S3
endpoint the operator names with BUCKETSYNC_TEST_S3_* variables (see external_s3.py).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from ceph_rgw import CephRGW, start_ceph_rgw
from s3_clients import seeding_client
from external_s3 import ExternalS3, ExternalS3Error, external_s3_from

ACCESS_KEY = "testing-access"
SECRET_KEY = "testing-secret-do-not-leak-7f3a"
OTHER_ACCESS_KEY = "other-access"
OTHER_SECRET_KEY = "other-secret-do-not-leak-91c2"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process {process.args} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def stop(*processes: subprocess.Popen) -> None:
    """SIGTERM to every process at once, then a shared 10 s for them all to exit before SIGKILL: a pool of
    workers shuts down in the time of its slowest member, not the sum."""
    running = [process for process in processes if process.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + 10
    for process in running:
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class MotoServer:
    url: str
    port: int
    process: subprocess.Popen | None
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    region: str = "us-east-1"
    name: str = "moto"

    def client(self, access_key: str | None = None, secret_key: str | None = None):
        return seeding_client(
            self.url, access_key or self.access_key, secret_key or self.secret_key, self.region, path_style=False
        )


def start_moto() -> MotoServer:
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"bucketsync-moto-{port}.log", "wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    wait_for_port(port, process)
    return MotoServer(url=f"http://127.0.0.1:{port}", port=port, process=process)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = start_moto()
    yield server
    stop(server.process)


@pytest.fixture(scope="session")
def other_moto_server() -> Iterator[MotoServer]:
    """A second S3 server: the destination of cross-endpoint (streamed) runs."""
    server = start_moto()
    yield server
    stop(server.process)


def with_keys(server, access_key: str, secret_key: str):
    """The same server reached with other credentials (moto takes any keys)."""
    return replace(server, access_key=access_key, secret_key=secret_key)


@pytest.fixture(scope="session")
def rgw_server() -> Iterator[CephRGW]:
    """Ceph RGW 16.2 (mon, OSD, radosgw), started on first use and stopped by PID at the end of the run."""
    server = start_ceph_rgw()
    print(f"\nCeph RGW ready at {server.url} in {server.started_in:.1f} s", file=sys.stderr)
    yield server
    server.stop()


# Read before clean_environ strips BUCKETSYNC_* variables; never passed on to a bucketsync process.
try:
    EXTERNAL_S3: ExternalS3 | None = external_s3_from(os.environ)
    EXTERNAL_S3_ERROR = ""
except ExternalS3Error as error:
    EXTERNAL_S3, EXTERNAL_S3_ERROR = None, str(error)


def pytest_configure(config) -> None:
    if EXTERNAL_S3_ERROR:
        raise pytest.UsageError(EXTERNAL_S3_ERROR)

S3_SERVERS = ["moto", "rgw"] + (["external"] if EXTERNAL_S3 else [])

TIERS = ("unit", "integration", "distributed", "faults", "ops")


def uses_rgw(item) -> bool:
    """The test takes the rgw_server fixture, or a server parameter (`rgw`, `moto-rgw`…) that names it."""
    if "rgw_server" in getattr(item, "fixturenames", ()):
        return True
    callspec = getattr(item, "callspec", None)
    return callspec is not None and "rgw" in re.split(r"[-\[\]]", callspec.id)


def pytest_collection_modifyitems(config, items) -> None:
    """Each test's tier from its folder (tests/unit → `unit`…), and `rgw` for those that start Ceph: a test
    added to a folder is in its tier with no decorator. `-m "(unit or integration) and not rgw"` is
    `scripts/test --quick`."""
    root = Path(__file__).parent
    for item in items:
        try:
            folder = Path(item.path).relative_to(root).parts[0]
        except ValueError:
            continue
        if folder in TIERS:
            item.add_marker(getattr(pytest.mark, folder))
        if uses_rgw(item):
            item.add_marker(pytest.mark.rgw)


@pytest.fixture(scope="session")
def external_server() -> ExternalS3:
    if EXTERNAL_S3 is None:
        raise RuntimeError("no external S3 server: set BUCKETSYNC_TEST_S3_ENDPOINT_URL and its keys")
    return EXTERNAL_S3


@pytest.fixture(params=S3_SERVERS)
def s3_server(request):
    """The S3 server a contract test runs against, one test id per server: moto, rgw (and external).

    A test pins one server with `@pytest.mark.parametrize("s3_server", ["moto"], indirect=True)`.
    """
    return request.getfixturevalue(f"{request.param}_server")


def create_bucket(client, bucket: str, *, object_lock: bool = False) -> str:
    """A bucket in the client's region (outside us-east-1, S3 wants a LocationConstraint)."""
    args: dict = {"Bucket": bucket}
    if object_lock:
        args["ObjectLockEnabledForBucket"] = True
    region = client.meta.region_name
    if region and region != "us-east-1":
        args["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(**args)
    return bucket


@dataclass
class RedisServer:
    url: str
    port: int
    process: subprocess.Popen
    workdir: Path


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError("redis-server is not installed: run scripts/test, which installs it")
    return found


def start_redis(*extra: str) -> RedisServer:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bucketsync-redis-"))
    process = subprocess.Popen(
        [redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(workdir), "--databases", "32", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, process)
    return RedisServer(url=f"redis://127.0.0.1:{port}/0", port=port, process=process, workdir=workdir)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = start_redis()
    yield server
    stop(server.process)
    shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(autouse=True)
def clean_environ(monkeypatch, tmp_path):
    """No stray AWS_* or BUCKETSYNC_* variable (or ~/.aws file) changes what a test sees."""
    for name in list(os.environ):
        if name.startswith(("AWS_", "BUCKETSYNC_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def unique_bucket(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def s3(moto_server):
    return moto_server.client()


@pytest.fixture
def locked_buckets(s3):
    """A fresh (source, destination) pair of buckets, both with Object Lock."""
    source, dest = unique_bucket("src"), unique_bucket("dst")
    create_bucket(s3, source, object_lock=True)
    create_bucket(s3, dest, object_lock=True)
    return source, dest


def side_env(server: MotoServer, access_key: str | None = None, secret_key: str | None = None) -> dict:
    return {
        "endpoint_url": server.url,
        "access_key_id": access_key or server.access_key,
        "secret_access_key": secret_key or server.secret_key,
        "region": server.region,
    }


def set_side_env(monkeypatch, side: str, server: MotoServer, access_key: str | None = None, secret_key: str | None = None):
    prefix = f"BUCKETSYNC_{side.upper()}__"
    for name, value in side_env(server, access_key, secret_key).items():
        monkeypatch.setenv(prefix + name.upper(), value)


def bucketsync_env(extra: dict | None = None) -> dict:
    """The environment for a `bucketsync` subprocess: this one, cleaned, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKETSYNC_"))}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_CONFIG_FILE"] = os.devnull
    env["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    env.update(extra or {})
    return env


def run_cli_in_process(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`bucketsync ARGS` through the console script's own `main()` in this process: the same arguments,
    environment (os.environ is replaced for the call, then restored), stdout, stderr and exit code, without
    the ~1 s of CPU a new interpreter costs. For runs where the process boundary is not the point: no
    broker (Celery keeps its first configuration in a process) but for the LEDGER_READERS, no --debug or
    BUCKETSYNC_DEBUG (they install a log handler on the stderr of the moment)."""
    assert in_process_fits(args, env), f"bucketsync {args[0]} with this environment needs a process: run_cli"
    import io
    from contextlib import redirect_stderr, redirect_stdout

    from bucketsync import cli
    from bucketsync.engine import s3

    saved_environ, saved_argv = dict(os.environ), sys.argv
    stdout, stderr = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update(bucketsync_env(env))
    sys.argv = ["bucketsync", *args]
    s3._session.cache_clear()  # botocore reads AWS_CONFIG_FILE and AWS_* when a session is made
    try:
        with redirect_stdout(stdout), redirect_stderr(stderr):
            try:
                cli.main()
                code = 0
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved_environ)
        sys.argv = saved_argv
        s3._session.cache_clear()
    return subprocess.CompletedProcess(["bucketsync", *args], code, stdout.getvalue(), stderr.getvalue())


# Commands that only read the ledger in Redis: they configure no Celery app, so a broker fits in-process.
LEDGER_READERS = ("status", "runs")


def in_process_fits(args: tuple[str, ...], env: dict | None) -> bool:
    env = env or {}
    broker_fits = "BUCKETSYNC_BROKER_URL" not in env or args[:1] in tuple((name,) for name in LEDGER_READERS)
    return broker_fits and "BUCKETSYNC_DEBUG" not in env and "--debug" not in args


def run_cli(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run the real console script in a subprocess, as an operator would."""
    executable = Path(sys.executable).with_name("bucketsync")
    command = [str(executable)] if executable.exists() else [sys.executable, "-m", "bucketsync.cli"]
    return subprocess.run(command + list(args), env=bucketsync_env(env), capture_output=True, text=True, timeout=timeout)
