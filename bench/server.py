"""The S3 server under the benchmark: a moto server of our own (one per workload), a Ceph RGW of our own
(one for the whole bench: `--server rgw`), or one given by URL.

moto's server writes one access-log line per request to stderr, e.g.
    127.0.0.1 - - [25/Nov/2026 12:15:42] "PUT /dst/a/1?retention= HTTP/1.1" 200 -
so requests by type are counted from the log between a run's start and end offsets, restricted to the
run's buckets. The logged status is not reliable (moto logs 200 for some 500 answers), so it is ignored.
A PUT of an object is shown as "PutObject/CopyObject": the line does not say which (the copy source is a
header), except where the client adds `x-id=CopyObject`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from common import Endpoint

LOG_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<target>\S+) HTTP/[\d.]+" (?P<status>\d{3})')

# Sub-resources that name the operation, in the order they are looked for.
SUBRESOURCES = {
    ("GET", "bucket", "list-type"): "ListObjectsV2",
    ("GET", "bucket", "object-lock"): "GetObjectLockConfiguration",
    ("GET", "bucket", "versioning"): "GetBucketVersioning",
    ("GET", "bucket", "location"): "GetBucketLocation",
    ("GET", "bucket", "versions"): "ListObjectVersions",
    ("GET", "bucket", "uploads"): "ListMultipartUploads",
    ("POST", "bucket", "delete"): "DeleteObjects",
    ("GET", "object", "retention"): "GetObjectRetention",
    ("GET", "object", "legal-hold"): "GetObjectLegalHold",
    ("GET", "object", "tagging"): "GetObjectTagging",
    ("PUT", "object", "retention"): "PutObjectRetention",
    ("PUT", "object", "legal-hold"): "PutObjectLegalHold",
    ("PUT", "object", "tagging"): "PutObjectTagging",
    ("PUT", "object", "partNumber"): "UploadPart(Copy)",
    ("POST", "object", "uploads"): "CreateMultipartUpload",
    ("POST", "object", "uploadId"): "CompleteMultipartUpload",
    ("DELETE", "object", "uploadId"): "AbortMultipartUpload",
}
PLAIN = {
    ("GET", "bucket"): "ListObjects(v1)",
    ("HEAD", "bucket"): "HeadBucket",
    ("PUT", "bucket"): "CreateBucket",
    ("DELETE", "bucket"): "DeleteBucket",
    ("GET", "object"): "GetObject",
    ("HEAD", "object"): "HeadObject",
    ("PUT", "object"): "PutObject/CopyObject",
    ("DELETE", "object"): "DeleteObject",
}
WRITES = frozenset(
    {"PutObject/CopyObject", "CopyObject", "PutObject", "PutObjectRetention", "PutObjectLegalHold", "PutObjectTagging",
     "UploadPart(Copy)", "CreateMultipartUpload", "CompleteMultipartUpload", "DeleteObject", "DeleteObjects"}
)


# bucketsync's destination probe before a server-side run: a CopyObject of a key that does not exist,
# which writes nothing (bucketsync/engine/server_quirks.py). Counted apart, so a no-change run shows no write.
QUIRK_PROBE_KEY = "bucketsync-quirk-probe-"


def classify(method: str, target: str) -> tuple[str, str]:
    """(bucket, operation name) of one logged request (path-style addressing)."""
    parts = urlsplit(target)
    path = unquote(parts.path).lstrip("/")
    bucket, _, key = path.partition("/")
    if key.startswith(QUIRK_PROBE_KEY):
        return bucket, "QuirkProbe"
    level = "object" if key else "bucket"
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for (verb, where, name), operation in SUBRESOURCES.items():
        if verb == method and where == level and name in query:
            return bucket, operation
    if method == "PUT" and level == "object" and query.get("x-id") in ("CopyObject", "PutObject"):
        return bucket, query["x-id"]
    return bucket, PLAIN.get((method, level), f"{method} {level}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    """An S3 server some other party runs: no log, no CPU figures."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint

    name = "external"

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def log_offset(self) -> int | None:
        return None

    def requests_between(self, start: int | None, end: int | None, buckets: set[str]) -> dict[str, int] | None:
        return None

    def cpu_seconds(self) -> float | None:
        return None

    def rss_mib(self) -> float | None:
        return None

    def peak_rss_mib(self) -> float | None:
        return None


class MotoServer(S3Server):
    """`python -m moto.server` on a free loopback port, in its own session; always stopped by stop()."""

    name = "moto"

    def __init__(self, log_dir: Path, access_key_id: str = "bench-access", secret_access_key: str = "bench-secret",
                 indexed_listing: bool = False, preload: tuple[str, ...] = (), ranged_part_copies: bool = False) -> None:
        """indexed_listing / preload / ranged_part_copies: run bench/moto_server.py (W5: listing from a
        sorted index, buckets of 0-byte objects created in process before it listens; W7: UploadPartCopy
        reads only its range) instead of plain moto."""
        self.indexed_listing = indexed_listing or bool(preload) or ranged_part_copies
        self.preload = preload
        self.port = free_port()
        super().__init__(Endpoint(f"http://127.0.0.1:{self.port}", access_key_id, secret_access_key))
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"moto-{self.port}.log"
        self.process: subprocess.Popen | None = None
        self._ps = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
        self._log = open(self.log_path, "ab")
        program = [sys.executable, "-m", "moto.server"]
        if self.indexed_listing:
            program = [sys.executable, str(Path(__file__).resolve().parent / "moto_server.py")]
            program += [f"--preload={spec}" for spec in self.preload]
        self.process = subprocess.Popen(
            [*program, "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
        patience = 60 + sum(int(re.search(r"=(\d+)", spec).group(1)) for spec in self.preload) / 5000
        deadline = time.monotonic() + patience
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.process.returncode}; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            self.stop()
            raise RuntimeError(f"moto server did not listen on port {self.port} within {patience:.0f} s")
        try:
            import psutil

            self._ps = psutil.Process(self.process.pid)
        except Exception:
            self._ps = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()

    def log_offset(self) -> int:
        return self.log_path.stat().st_size

    def requests_between(self, start: int | None, end: int | None, buckets: set[str]) -> dict[str, int] | None:
        if start is None or end is None:
            return None
        counts: Counter[str] = Counter()
        with open(self.log_path, "rb") as log:
            log.seek(start)
            text = log.read(end - start).decode("utf-8", "replace")
        for line in text.splitlines():
            match = LOG_LINE.search(line)
            if not match:
                continue
            bucket, operation = classify(match["method"], match["target"])
            if bucket in buckets:
                counts[operation] += 1
        return dict(counts.most_common())

    def cpu_seconds(self) -> float | None:
        if self._ps is None:
            return None
        times = self._ps.cpu_times()
        return times.user + times.system

    def rss_mib(self) -> float | None:
        if self._ps is None:
            return None
        return self._ps.memory_info().rss / (1024 * 1024)

    def peak_rss_mib(self) -> float | None:
        """The server process's peak RSS so far (VmHWM)."""
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except (OSError, AttributeError, ValueError):
            pass
        return None


class DelayedServer(S3Server):
    """A server reached through bench/delay_proxy.py: every tool sees `delay_ms` more each way (a far
    endpoint); the request log and CPU figures are the inner server's."""

    def __init__(self, inner: S3Server, delay_ms: float) -> None:
        from dataclasses import replace

        from delay_proxy import DelayProxy

        self.inner = inner
        self.delay_ms = delay_ms
        port = int(urlsplit(inner.endpoint.url).port or 80)
        self.proxy = DelayProxy(port, delay_ms)
        super().__init__(replace(inner.endpoint, url=f"http://127.0.0.1:{self.proxy.port}"))
        self.name = inner.name

    def start(self) -> None:
        self.inner.start()
        self.proxy.start()

    def stop(self) -> None:
        self.proxy.stop()
        self.inner.stop()

    def log_offset(self) -> int | None:
        return self.inner.log_offset()

    def requests_between(self, start: int | None, end: int | None, buckets: set[str]) -> dict[str, int] | None:
        return self.inner.requests_between(start, end, buckets)

    def cpu_seconds(self) -> float | None:
        return self.inner.cpu_seconds()

    def rss_mib(self) -> float | None:
        return self.inner.rss_mib()

    def peak_rss_mib(self) -> float | None:
        return self.inner.peak_rss_mib()


class ServerPair(S3Server):
    """Two servers measured as one (W7 streamed: the source on one, the destination on the other): log
    offsets are pairs, requests of both logs are added up (each bucket lives on one server), CPU seconds
    and memory too. Its endpoint is the source's."""

    def __init__(self, source: S3Server, dest: S3Server) -> None:
        super().__init__(source.endpoint)
        self.servers = (source, dest)
        self.name = source.name

    def start(self) -> None:
        for server in self.servers:
            server.start()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def log_offset(self):
        offsets = tuple(server.log_offset() for server in self.servers)
        return None if None in offsets else offsets

    def requests_between(self, start, end, buckets: set[str]) -> dict[str, int] | None:
        if start is None or end is None:
            return None
        total: Counter[str] = Counter()
        for server, first, last in zip(self.servers, start, end):
            total.update(server.requests_between(first, last, buckets) or {})
        return dict(total.most_common())

    def _sum(self, figures: list[float | None]) -> float | None:
        return None if None in figures else sum(figures)

    def cpu_seconds(self) -> float | None:
        return self._sum([server.cpu_seconds() for server in self.servers])

    def rss_mib(self) -> float | None:
        return self._sum([server.rss_mib() for server in self.servers])

    def peak_rss_mib(self) -> float | None:
        return self._sum([server.peak_rss_mib() for server in self.servers])


class RgwServer(S3Server):
    """A single-node Ceph cluster with radosgw from Debian's packages (the one the test suite starts:
    tests/ceph_rgw.py), started once for the whole bench. No request log; CPU and memory are the sum of
    its three daemons (mon, OSD, radosgw). `view()` gives each workload a server it may start and stop
    without stopping the cluster; `second_user()` an endpoint with other credentials on the same RGW
    (W7 streamed: a tool given two credential sets streams every byte through itself)."""

    name = "rgw"

    def __init__(self) -> None:
        self.cluster = None

    def start(self) -> None:
        tests = str(Path(__file__).resolve().parent.parent / "tests")
        if tests not in sys.path:
            sys.path.insert(0, tests)
        from ceph_rgw import start_ceph_rgw

        self.cluster = start_ceph_rgw()
        self.endpoint = Endpoint(self.cluster.url, self.cluster.access_key, self.cluster.secret_key, self.cluster.region)
        print(f"bench: Ceph RGW {self.cluster.url} started in {self.cluster.started_in:.0f} s", file=sys.stderr)

    def stop(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
            self.cluster = None

    def view(self) -> "S3Server":
        return _ClusterView(self)

    def second_user(self) -> Endpoint:
        access, secret = "bench-second-access", "bench-second-secret"
        subprocess.run(["radosgw-admin", "-c", str(self.cluster.root / "ceph.conf"), "user", "create", "--uid", "bench-second",
                        "--display-name", "bench second user", "--access-key", access, "--secret", secret],
                       capture_output=True, check=False, stdin=subprocess.DEVNULL, timeout=60)
        return Endpoint(self.endpoint.url, access, secret, self.endpoint.region)

    def _daemons(self):
        import psutil

        for pid in (self.cluster.pids.values() if self.cluster else ()):
            try:
                yield psutil.Process(pid)
            except psutil.Error:
                continue

    def cpu_seconds(self) -> float | None:
        return sum(process.cpu_times().user + process.cpu_times().system for process in self._daemons()) or None

    def rss_mib(self) -> float | None:
        return sum(process.memory_info().rss for process in self._daemons()) / MiB_ or None


MiB_ = 1024 * 1024


class _ClusterView(S3Server):
    """The shared RGW as one workload sees it: starting and stopping it does nothing."""

    def __init__(self, rgw: RgwServer) -> None:
        super().__init__(rgw.endpoint)
        self.rgw = rgw
        self.name = rgw.name

    def cpu_seconds(self) -> float | None:
        return self.rgw.cpu_seconds()

    def rss_mib(self) -> float | None:
        return self.rgw.rss_mib()

    def second_user(self) -> Endpoint:
        return self.rgw.second_user()


def delayed(server: S3Server, delay_ms: float) -> S3Server:
    """The server behind a delay proxy when `delay_ms` > 0, else itself."""
    return DelayedServer(server, delay_ms) if delay_ms > 0 else server
