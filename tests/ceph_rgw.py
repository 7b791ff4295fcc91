"""A single-node Ceph cluster (one mon, one OSD, no mgr) and a radosgw on free loopback ports, from
Debian's packages, in a temporary directory: the Ceph RGW the contract tests run against.

Each daemon forks and writes a pid file; `CephRGW.stop` stops exactly those PIDs. Nothing listens beyond
127.0.0.1 and nothing is written outside the temporary directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path


from s3_clients import seeding_client

RGW_ACCESS_KEY = "rgw-testing-access"
RGW_SECRET_KEY = "rgw-testing-secret-do-not-leak-4b1e"

BINARIES = ("monmaptool", "ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "ceph")

# The SSE-KMS "testing" backend takes its keys from the configuration: id=base64 of 32 bytes.
KMS_TEST_KEY_ID = "bucketsync-test-key"
KMS_TEST_KEY = "YnVja2V0c3luYy10ZXN0LWttcy1rZXktMzItYnl0ZXM="


class CephStartError(RuntimeError):
    """A Ceph daemon did not come up; the message carries the tail of its log."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ceph_conf(root: Path, fsid: str, mon_port: int, rgw_port: int, objectstore: str) -> str:
    # Facts this configuration rests on (Ceph 16.2):
    # - no cephx, but also `ms_mon_client_mode = crc secure`: without it radosgw retries for 300 s on
    #   "get_initial_auth_request returned -13" before giving up;
    # - one OSD, so pools of size 1 (which the mon refuses unless mon_allow_pool_size_one) and few PGs
    #   with the autoscaler off (radosgw creates about eight pools on first start);
    # - msgr2 only, bound to loopback.
    return f"""\
[global]
fsid = {fsid}
mon_host = v2:127.0.0.1:{mon_port}
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
ms_bind_msgr2 = true
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc secure
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_max_pg_per_osd = 1000
osd_crush_chooseleaf_type = 0
run_dir = {root}/run
admin_socket = {root}/run/$name.asok
pid_file = {root}/run/$name.pid
log_file = {root}/log/$name.log
crash_dir = {root}/crash
keyring = {root}/keyring
mon_data = {root}/mon/$cluster-$id
osd_data = {root}/osd/$cluster-$id
osd_objectstore = {objectstore}
bluestore_block_create = true
bluestore_block_size = {20 * 1024**3}
bluestore_fsck_on_mkfs = false
bluestore_fsck_on_mount = false
osd_memory_target = {1024**3}
memstore_device_bytes = {8 * 1024**3}
debug_ms = 0
# Faster map updates: radosgw creates its pools one after another on first start.
paxos_propose_interval = 0.1
paxos_min_wait = 0.01

[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:{rgw_port}
rgw_data = {root}/rgw
rgw_crypt_require_ssl = false
rgw_crypt_s3_kms_backend = testing
rgw_crypt_s3_kms_encryption_keys = {KMS_TEST_KEY_ID}={KMS_TEST_KEY}
rgw_enable_usage_log = false
"""


@dataclass
class CephRGW:
    """A running Ceph cluster with radosgw, shaped like conftest's MotoServer (url, port, client())."""

    url: str
    port: int
    root: Path
    access_key: str = RGW_ACCESS_KEY
    secret_key: str = RGW_SECRET_KEY
    region: str = "us-east-1"
    name: str = "rgw"
    started_in: float = 0.0
    pids: dict[str, int] = field(default_factory=dict)

    def client(self, access_key: str | None = None, secret_key: str | None = None):
        return seeding_client(
            self.url, access_key or self.access_key, secret_key or self.secret_key, self.region, path_style=True
        )

    def stop(self) -> None:
        """Stop the daemons this cluster started, by PID; then remove its directory."""
        stop_daemons(self.pids)
        shutil.rmtree(self.root, ignore_errors=True)


def stop_daemons(pids: dict[str, int], timeout: float = 1.0) -> None:
    """Stop the daemons named in `pids` (emptying it) at once: SIGTERM, then SIGKILL to those still up after
    `timeout`. The cluster's directory goes with it, so nothing needs an orderly shutdown (one daemon after
    the other took ~13 s of every test run)."""
    stopping = list(pids.values())
    pids.clear()
    for pid in stopping:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in stopping):
        time.sleep(0.1)
    for pid in stopping:
        if alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A forked daemon is not our child: once dead it is reaped by init, but may linger as a zombie briefly.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if shutil.which(name) is None]


class _Cluster:
    """The start-up steps, each failing with the log tail of the daemon concerned."""

    def __init__(self, root: Path, objectstore: str) -> None:
        self.root = root
        self.conf = root / "ceph.conf"
        self.fsid = str(uuid.uuid4())
        self.mon_port = free_port()
        self.rgw_port = free_port()
        self.pids: dict[str, int] = {}
        for sub in ("run", "log", "crash", "mon", "osd", "rgw"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "keyring").touch()
        self.conf.write_text(ceph_conf(root, self.fsid, self.mon_port, self.rgw_port, objectstore))

    def log_tail(self, name: str, lines: int = 40) -> str:
        path = self.root / "log" / f"{name}.log"
        if not path.exists():
            return f"(no log at {path})"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def run(self, *command: str, daemon: str | None = None, timeout: float = 60.0) -> str:
        try:
            done = subprocess.run(
                [command[0], "-c", str(self.conf), *command[1:]],
                capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as error:
            raise CephStartError(self._failure(f"{' '.join(command)} took over {timeout} s", daemon)) from error
        if done.returncode != 0:
            raise CephStartError(self._failure(
                f"{' '.join(command)} exited {done.returncode}: {(done.stderr or done.stdout).strip()[-2000:]}", daemon
            ))
        return done.stdout

    def _failure(self, what: str, daemon: str | None) -> str:
        tail = f"\n--- {daemon} log (tail) ---\n{self.log_tail(daemon)}" if daemon else ""
        return f"Ceph RGW for the tests did not start: {what}{tail}"

    def start_daemon(self, name: str, *command: str) -> None:
        """Start a daemon (it forks) and record the PID from its pid file."""
        self.run(*command, daemon=name)
        pid_file = self.root / "run" / f"{name}.pid"
        deadline = time.monotonic() + 20
        while not pid_file.exists() or not pid_file.read_text().strip():
            if time.monotonic() > deadline:
                raise CephStartError(self._failure(f"{name} wrote no pid file", name))
            time.sleep(0.05)
        self.pids[name] = int(pid_file.read_text().strip())

    def wait_for(self, name: str, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            pid = self.pids.get(name)
            if pid is not None and not alive(pid):
                raise CephStartError(self._failure(f"{name} exited", name))
            if time.monotonic() > deadline:
                raise CephStartError(self._failure(f"{what} after {timeout} s", name))
            time.sleep(0.2)

    def start_mon(self) -> None:
        monmap = self.root / "monmap"
        self.run("monmaptool", "--create", "--fsid", self.fsid, "--addv", "a", f"[v2:127.0.0.1:{self.mon_port}]",
                 str(monmap))
        self.run("ceph-mon", "--mkfs", "-i", "a", "--monmap", str(monmap), daemon="mon.a")
        self.start_daemon("mon.a", "ceph-mon", "-i", "a")

    def start_osd(self) -> None:
        osd_uuid = str(uuid.uuid4())
        osd_id = self.run("ceph", "osd", "new", osd_uuid, daemon="mon.a", timeout=60).strip()
        if osd_id != "0":
            raise CephStartError(self._failure(f"`ceph osd new` gave OSD id {osd_id!r}, expected 0", "mon.a"))
        (self.root / "osd" / "ceph-0").mkdir()
        self.run("ceph-osd", "-i", "0", "--mkfs", "--osd-uuid", osd_uuid, daemon="osd.0", timeout=120)
        self.start_daemon("osd.0", "ceph-osd", "-i", "0")

    def start_rgw(self) -> None:
        self.start_daemon("client.rgw.a", "radosgw", "-n", "client.rgw.a")

    def rgw_answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.rgw_port), timeout=0.5):
                return True
        except OSError:
            return False

    def create_user(self) -> None:
        self.run("radosgw-admin", "user", "create", "--uid", "bucketsync-tests", "--display-name", "bucketsync tests",
                 "--access-key", RGW_ACCESS_KEY, "--secret", RGW_SECRET_KEY, daemon="client.rgw.a")


def start_ceph_rgw(objectstore: str = "bluestore", timeout: float = 180.0) -> CephRGW:
    """Start mon, OSD and radosgw; return once the S3 user can list buckets. Stops what it started on failure."""
    missing = missing_binaries()
    if missing:
        raise CephStartError(f"Ceph is not installed (missing {', '.join(missing)}): run scripts/test, which installs it")
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="bucketsync-ceph-"))
    cluster = _Cluster(root, objectstore)
    try:
        cluster.start_mon()
        cluster.start_osd()
        cluster.start_rgw()
        cluster.wait_for("client.rgw.a", cluster.rgw_answers, timeout, "radosgw does not answer on its S3 port")
        cluster.create_user()
        server = CephRGW(url=f"http://127.0.0.1:{cluster.rgw_port}", port=cluster.rgw_port, root=root, pids=cluster.pids)
        client = server.client()
        cluster.wait_for("client.rgw.a", lambda: _lists_buckets(client), 30, "the S3 user cannot list buckets")
    except BaseException:
        stop_daemons(cluster.pids)
        shutil.rmtree(root, ignore_errors=True)
        raise
    server.started_in = time.monotonic() - began
    return server


def _lists_buckets(client) -> bool:
    try:
        client.list_buckets()
        return True
    except Exception:  # noqa: BLE001 - any error means "not yet"
        return False
