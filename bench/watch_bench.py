"""W9: `bucketsync watch` driven by Ceph RGW's own bucket notifications (`--server rgw` only).

Writers PUT 1 KiB objects into a lock-enabled source at a fixed rate; RGW announces each write to the
watcher (a synchronous HTTP topic: the PUT waits for the watcher's answer; a persistent HTTP topic: queued
in RADOS and retried; an AMQP topic through the machine's RabbitMQ), and `bucketsync watch` (a process of
its own, as an operator runs it) replicates into a lock-enabled destination. A checker lists the
destination every 50 ms from the first key not yet seen (one request a round, so it does not load the
server more the further behind the watcher is).

A persistent topic gets a second topic beside the watcher's, pushing to an endpoint of the bench's own
that answers at once: RGW's own delivery delay, against which the watcher's lag is judged.

Per scenario: lag = first HEAD that finds the key at the destination - the start of its PUT (p50, p99,
max; up to one listing round trip and 50 ms of it are the checker's, so it is an upper bound), the writers' PUT latency
(p50/p99: what a synchronous topic costs them), changes lost (not at the destination once nothing new
has shown there for 20 s), versions beyond one per key, and a burst of PUTs on one key (versions it left). Catch-up:
the watcher stopped while writes go on (AMQP: RabbitMQ keeps them), then started: time until every key
is at the destination, against how long it was down. Beside the table, what a scheduled run gives.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from common import VENV_BIN, Endpoint, bucket_name

RABBITMQ = "amqp://guest:guest@127.0.0.1:5672//"
BODY = os.urandom(1024)


@dataclass
class Scenario:
    name: str
    transport: str  # http | amqp
    rate: float  # PUTs per second
    persistent: bool = False
    workers: int = 0  # >0: the changes go to a Redis and one `bucketsync worker` of this many pool processes


@dataclass
class Observed:
    started: dict[str, float] = field(default_factory=dict)
    put_seconds: list[float] = field(default_factory=list)
    seen: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _sns(endpoint: Endpoint):
    return boto3.client("sns", endpoint_url=endpoint.url, aws_access_key_id=endpoint.access_key_id,
                        aws_secret_access_key=endpoint.secret_access_key, region_name=endpoint.region)


def _topic(endpoint: Endpoint, scenario: Scenario, port: int, exchange: str) -> str:
    name = f"w9-{uuid.uuid4().hex[:8]}"
    if scenario.transport == "http":
        attributes = {"push-endpoint": f"http://127.0.0.1:{port}", "persistent": str(scenario.persistent).lower()}
    else:
        attributes = {"push-endpoint": "amqp://127.0.0.1:5672", "amqp-exchange": exchange, "amqp-ack-level": "broker",
                      "persistent": "false"}
    return _sns(endpoint).create_topic(Name=name, Attributes=attributes)["TopicArn"], name


class Watch:
    """`bucketsync watch` as a subprocess, stopped with SIGTERM."""

    def __init__(self, endpoint: Endpoint, source: str, dest: str, options: list[str], workdir: Path) -> None:
        self.argv = [str(VENV_BIN / "bucketsync"), "watch", f"s3://{source}", f"s3://{dest}", *options,
                     "--journal", str(workdir / f"journal-{source}.sqlite")]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUCKETSYNC_"))}
        for side in ("SOURCE", "DEST"):
            self.env.update({f"BUCKETSYNC_{side}__ENDPOINT_URL": endpoint.url,
                             f"BUCKETSYNC_{side}__ACCESS_KEY_ID": endpoint.access_key_id,
                             f"BUCKETSYNC_{side}__SECRET_ACCESS_KEY": endpoint.secret_access_key,
                             f"BUCKETSYNC_{side}__REGION": endpoint.region})
        self.env["AWS_EC2_METADATA_DISABLED"] = "true"
        self.env["BUCKETSYNC_EVENTS__AMQP_QUEUE"] = f"w9-{source}"  # a queue of its own per watch
        workdir.mkdir(parents=True, exist_ok=True)
        self.log = workdir / f"watch-{source}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        before = self.log.read_bytes().count(b"watching") if self.log.exists() else 0
        self.process = subprocess.Popen(self.argv, env=self.env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while self.log.read_bytes().count(b"watching") <= before:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bucketsync watch did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _write(client, bucket: str, rate: float, seconds: float, observed: Observed, prefix: str) -> None:
    """PUT at `rate` per second for `seconds`, each PUT on a pool thread at its own moment."""
    count = int(rate * seconds)

    def put(index: int) -> None:
        key = f"{prefix}{index:06d}"
        began = time.time()
        with observed.lock:
            observed.started[key] = began
        client.put_object(Bucket=bucket, Key=key, Body=BODY)
        with observed.lock:
            observed.put_seconds.append(time.time() - began)

    with ThreadPoolExecutor(max_workers=32) as pool:
        start = time.monotonic()
        for index in range(count):
            delay = start + index / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(put, index)


def _check(client, bucket: str, observed: Observed, stop: threading.Event, prefix: str) -> None:
    """List the destination under `prefix` every 50 ms, from the first key not yet seen on (keys are
    written in order), and note when each key first shows: one request a round, however far behind."""
    while not stop.is_set():
        with observed.lock:
            waiting = sorted(key for key in observed.started if key not in observed.seen)
        if not waiting:
            time.sleep(0.02)
            continue
        args = {"Bucket": bucket, "Prefix": prefix}
        first = waiting[0]
        if first > prefix:
            args["StartAfter"] = first[:-1] + chr(ord(first[-1]) - 1) if first[-1] > "0" else prefix
        try:
            for page in client.get_paginator("list_objects_v2").paginate(**args):
                now = time.time()
                with observed.lock:
                    for item in page.get("Contents", []):
                        observed.seen.setdefault(item["Key"], now)
        except Exception:  # noqa: BLE001 - a slow or failed listing is tried again
            pass
        stop.wait(0.05)


def _settle(observed: Observed, quiet: float = 20.0, longest: float = 300.0) -> None:
    """Wait until every key is seen, or nothing new has shown for `quiet` seconds (at most `longest`):
    a key still missing then counts as lost."""
    deadline, last_count, last_change = time.monotonic() + longest, -1, time.monotonic()
    while time.monotonic() < deadline and len(observed.seen) < len(observed.started):
        if len(observed.seen) != last_count:
            last_count, last_change = len(observed.seen), time.monotonic()
        elif time.monotonic() - last_change > quiet:
            return
        time.sleep(0.2)


def _versions(client, bucket: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for version in page.get("Versions", []):
            counts[version["Key"]] = counts.get(version["Key"], 0) + 1
    return counts


def _pair(session, tag: str) -> tuple[str, str]:
    source, dest = session.bucket("w9", tag, "src"), session.bucket("w9", tag, "dst")
    for bucket in (source, dest):
        session.client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    return source, dest


def _notify(client, bucket: str, *arns: str) -> None:
    client.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"TopicConfigurations": [
        {"Id": f"w9-{n}", "TopicArn": arn, "Events": ["s3:ObjectCreated:*"]} for n, arn in enumerate(arns)]})


class DeliveryProbe:
    """An HTTP endpoint of the bench's own that answers every push at once and notes when each key's first
    event arrived: RGW's own delivery delay, beside what the watcher (on a topic of its own) makes of it."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.arrived: dict[str, float] = {}
        probe = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time()
                try:
                    for record in json.loads(body).get("Records", []):
                        probe.arrived.setdefault(record["s3"]["object"]["key"], now)
                except (ValueError, KeyError, TypeError, AttributeError):
                    pass
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024
            daemon_threads = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _watch_options(scenario: Scenario, port: int, exchange: str, topic: str) -> list[str]:
    if scenario.transport == "http":
        return ["--events-http", f"127.0.0.1:{port}"]
    return ["--events-amqp", f"{RABBITMQ}?exchange={exchange}&topic={topic}"]


def _declare_amqp(exchange: str, queue: str, routing_key: str) -> None:
    """The exchange RGW publishes to and the watcher's queue bound to it, declared before RGW is told to
    publish (as the watcher declares them: durable). RGW's first publish to an exchange that is not there
    yet (the watcher still connecting on a loaded machine) has RabbitMQ close the channel, and RGW 16 was
    then seen to publish nothing more through that connection."""
    from kombu import Connection, Exchange, Queue

    with Connection(RABBITMQ, connect_timeout=10) as connection:
        bound = Queue(queue, exchange=Exchange(exchange, type="topic", durable=True), routing_key=routing_key,
                      durable=True)
        bound(connection.default_channel).declare()


def run_scenario(session, scenario: Scenario, seconds: float) -> dict:
    from server import free_port

    endpoint = session.endpoint
    source, dest = _pair(session, f"{scenario.name.replace(' ', '')}{scenario.rate:g}")
    port, exchange = free_port(), f"w9-{uuid.uuid4().hex[:8]}"
    arn, topic = _topic(endpoint, scenario, port, exchange)
    watch = Watch(endpoint, source, dest, _watch_options(scenario, port, exchange, topic), session.workdir)
    if scenario.transport == "amqp":
        _declare_amqp(exchange, watch.env["BUCKETSYNC_EVENTS__AMQP_QUEUE"], topic)
    cluster = None
    if scenario.workers:  # standing workers, as an operator's would be: started before, stopped after
        from cluster import Cluster

        cluster = Cluster(scenario.workers, [str(VENV_BIN / "bucketsync"), "worker"], watch.env, session.workdir,
                          f"w9-workers-{source}")
        cluster.start()
        watch.env["BUCKETSYNC_BROKER_URL"] = cluster.broker_url
    try:
        return _measure(session, scenario, seconds, source, dest, arn, exchange, watch)
    finally:
        if cluster is not None:
            cluster.stop()


def _measure(session, scenario: Scenario, seconds: float, source: str, dest: str, arn: str, exchange: str,
             watch: Watch) -> dict:
    endpoint, client = session.endpoint, session.client
    watch.start()
    probe = DeliveryProbe() if scenario.persistent else None
    if probe is not None:  # a second persistent topic on the same bucket, pushing to the probe
        probe_arn, _ = _topic(endpoint, scenario, probe.port, exchange)
        _notify(client, source, arn, probe_arn)
    else:
        _notify(client, source, arn)
    observed, stop = Observed(), threading.Event()
    checker = threading.Thread(target=_check, args=(client, dest, observed, stop, "w/"), daemon=True)
    checker.start()
    began = time.monotonic()
    _write(client, source, scenario.rate, seconds, observed, "w/")
    written_in = time.monotonic() - began
    _settle(observed)
    stop.set()
    checker.join()
    burst_versions, burst_ok = _burst(client, source, dest)
    watch.stop()
    lags = [observed.seen[key] - observed.started[key] for key in observed.seen]
    delivered = []
    if probe is not None:
        probe.stop()
        delivered = [probe.arrived[key] - observed.started[key] for key in observed.started if key in probe.arrived]
    versions = _versions(client, dest)
    extra = sum(count - 1 for key, count in versions.items() if key != "burst")
    record = {
        "scenario": scenario.name, "rate": scenario.rate, "seconds": round(written_in, 1),
        "events": len(observed.started), "events_per_s": round(len(observed.started) / written_in, 1),
        "lag_p50_s": percentile(lags, 0.5), "lag_p99_s": percentile(lags, 0.99), "lag_max_s": max(lags, default=None),
        "put_p50_s": percentile(observed.put_seconds, 0.5), "put_p99_s": percentile(observed.put_seconds, 0.99),
        "lost": len(observed.started) - len(observed.seen), "extra_versions": extra,
        "burst_versions": burst_versions, "burst_final_state": burst_ok,
    }
    if probe is not None:  # RGW's own delay: PUT start -> its event at the probe
        record.update({"rgw_delivery_p50_s": percentile(delivered, 0.5), "rgw_delivery_p99_s": percentile(delivered, 0.99),
                       "rgw_delivered": len(delivered)})
    session.say(f"W9 {scenario.name} at {scenario.rate:g}/s: lag p50 {record['lag_p50_s'] or float('nan'):.3f} s, p99 "
                f"{record['lag_p99_s'] or float('nan'):.3f} s, lost {record['lost']}, extra versions {extra}")
    return record


def _burst(client, source: str, dest: str, puts: int = 50) -> tuple[int, bool]:
    """PUTs on one key as fast as one writer can; the versions it left at the destination, and whether
    the destination ends with the last one's bytes."""
    last = b""
    for index in range(puts):
        last = f"burst {index}".encode()
        client.put_object(Bucket=source, Key="burst", Body=last)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if client.get_object(Bucket=dest, Key="burst")["Body"].read() == last:
                time.sleep(1)
                return _versions(client, dest).get("burst", 0), True
        except Exception:  # noqa: BLE001 - not there yet
            pass
        time.sleep(0.1)
    return _versions(client, dest).get("burst", 0), False


def run_catch_up(session, rate: float, outage: float) -> dict:
    """AMQP: the watcher stopped for `outage` seconds while writes go on, then started again."""
    from server import free_port

    endpoint, client = session.endpoint, session.client
    source, dest = _pair(session, "catchup")
    scenario = Scenario("amqp catch-up", "amqp", rate)
    exchange = f"w9-{uuid.uuid4().hex[:8]}"
    arn, topic = _topic(endpoint, scenario, free_port(), exchange)
    watch = Watch(endpoint, source, dest, _watch_options(scenario, 0, exchange, topic), session.workdir)
    _declare_amqp(exchange, watch.env["BUCKETSYNC_EVENTS__AMQP_QUEUE"], topic)
    watch.start()
    _notify(client, source, arn)
    watch.stop()  # the queue stays, durable: RabbitMQ keeps what RGW publishes meanwhile
    observed = Observed()
    _write(client, source, rate, outage, observed, "c/")
    restarted = time.monotonic()
    watch.start()
    stop = threading.Event()
    checker = threading.Thread(target=_check, args=(client, dest, observed, stop, "c/"), daemon=True)
    checker.start()
    deadline = restarted + 10 * outage + 60
    while time.monotonic() < deadline and len(observed.seen) < len(observed.started):
        time.sleep(0.1)
    caught_up = time.monotonic() - restarted
    stop.set()
    checker.join()
    watch.stop()
    record = {"scenario": "amqp catch-up", "rate": rate, "outage_s": round(outage, 1), "events": len(observed.started),
              "catch_up_s": round(caught_up, 2), "lost": len(observed.started) - len(observed.seen),
              "extra_versions": sum(count - 1 for count in _versions(client, dest).values())}
    session.say(f"W9 catch-up: {record['events']} changes written while down {outage:.0f} s, all replicated "
                f"{record['catch_up_s']} s after the restart (lost {record['lost']})")
    return record


def run_w9(session, scale: float) -> None:
    if not session.on_rgw:
        session.say("W9: needs RGW's notifications: run with --server rgw")
        session.skipped.append({"workload": "W9", "tool": "bucketsync-watch", "reason": "needs --server rgw"})
        return
    seconds = max(10.0, 60.0 * scale)
    # The persistent topic last: after it (its queue in RADOS still being drained), RGW was seen to publish
    # nothing to the next scenario's new AMQP topic.
    scenarios = [Scenario("amqp", "amqp", 20), Scenario("http sync", "http", 20), Scenario("http sync", "http", 50),
                 Scenario("http sync", "http", 100), Scenario("http sync, 8 worker processes", "http", 50, workers=8),
                 Scenario("http persistent", "http", 8, persistent=True)]
    baseline = Observed()
    source, _ = _pair(session, "nonotify")
    _write(session.client, source, 50, min(seconds, 20), baseline, "b/")
    session.watch_records = [{"scenario": "no notification (PUT baseline)", "rate": 50, "events": len(baseline.started),
                              "put_p50_s": percentile(baseline.put_seconds, 0.5),
                              "put_p99_s": percentile(baseline.put_seconds, 0.99)}]
    # The catch-up first, on a fresh RGW: after the 100/s scenario RGW was seen to publish nothing more to a new
    # synchronous AMQP topic (W9's notes); then from the gentlest rate to the heaviest.
    session.watch_records.append(run_catch_up(session, 20, seconds))
    for scenario in scenarios:
        session.watch_records.append(run_scenario(session, scenario, seconds))


def render_w9(records: list[dict]) -> str:
    def f(value, pattern="{:.3f}") -> str:
        return "–" if value is None else pattern.format(value)

    lines = ["### W9 — `bucketsync watch` on RGW's notifications (lag = PUT start -> key found at the destination)", "",
             "| scenario | rate /s | events | lag p50 s | lag p99 s | lag max s | PUT p50 s | PUT p99 s | lost | extra versions | burst of 50: versions | catch-up |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in records:
        catch = f"{r['catch_up_s']} s after {r['outage_s']} s down" if "catch_up_s" in r else "–"
        burst = f"{r['burst_versions']}{'' if r.get('burst_final_state', True) else ' (NOT final state)'}" if "burst_versions" in r else "–"
        lines.append(f"| {r['scenario']} | {r['rate']:g} | {r.get('events', '–')} | {f(r.get('lag_p50_s'))} | "
                     f"{f(r.get('lag_p99_s'))} | {f(r.get('lag_max_s'))} | {f(r.get('put_p50_s'))} | {f(r.get('put_p99_s'))} | "
                     f"{r.get('lost', '–')} | {r.get('extra_versions', '–')} | {burst} | {catch} |")
    for r in records:
        if "rgw_delivery_p99_s" in r:
            lines += ["", f"{r['scenario']} at {r['rate']:g}/s: RGW's own delivery (PUT start -> its event at an endpoint "
                      f"that answers at once, {r['rgw_delivered']} of {r['events']}): p50 {f(r['rgw_delivery_p50_s'])} s, "
                      f"p99 {f(r['rgw_delivery_p99_s'])} s; bucketsync's lag p99 {f(r.get('lag_p99_s'))} s."]
    lines += ["", "A scheduled run instead: a change waits half the interval on average (hourly: 30 min, up to 60); "
              "AWS S3 Replication Time Control: 99.9 % within 15 minutes."]
    return "\n".join(lines)
