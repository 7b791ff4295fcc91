"""The five workloads. Each seeds its source, runs every tool into a fresh destination, interleaved
(the order rotates each round), and verifies the destination after every run.

W1  5,000 × 1 KiB over 50 prefixes into an empty destination.
W2  20 × 32 MiB into an empty destination.
W3  a no-change re-sync of W1's data, then a re-sync after overwriting 1 % of the source objects.
W4  2,000 objects, half with GOVERNANCE/COMPLIANCE retention, a quarter with legal hold, into a
    lock-enabled destination; a no-change re-sync (every lock checked); then 5 % of the source objects
    change lock state and everything re-syncs.
W5  200,000 × 0 bytes, no-change re-sync at 50k and at 200k objects (peak RSS flat?). Off by default.
W8  version histories: 2,000 keys × 5 versions of 1 KiB, a third of the keys with every version under
    retention, every tenth key ending in a delete marker; `sync --all-versions` into a fresh lock-enabled
    destination, then a no-change re-sync (every version's lock checked). Off by default.
W6  listing-bound: no-change re-sync of 200,000 × 0 bytes, hash-named (flat), under 100 prefixes, and all
    under one prefix four levels down (deep); meant for --delay-ms 50 (a far endpoint). Off by default.
W9  `bucketsync watch` on RGW's own notifications (HTTP sync/persistent, AMQP): lag, lost, extra
    versions, a burst on one key, catch-up after an outage (bench/watch_bench.py). --server rgw only.
W7  large objects: 4 × 1 GiB copied server-side (both buckets on one server) and streamed (the destination
    on a second server: every byte goes through the tool); meant for --delay-ms 50. Off by default.
Counts scale with --scale (at least a handful of objects each); object sizes do not.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from common import GiB, KiB, MiB, bucket_name
from data import (
    Item,
    change_locks,
    lock_of,
    create_bucket,
    delete_bucket,
    empty_objects,
    large_objects,
    list_all,
    locked_objects,
    overwrite_some,
    put_items,
    put_random_multipart,
    read_locks,
    small_objects,
)
from measure import run_measured
from server import WRITES, MotoServer, S3Server, ServerPair, delayed
from tools import Job, Tool
from verify import Verdict, verify_copy, verify_locks

ALL_WORKLOADS = ("W1", "W2", "W3", "W4", "W5", "W6", "W7", "W8", "W9")
DEFAULT_WORKLOADS = ("W1", "W2", "W3", "W4")

# Which tools take part in which workload (those unavailable drop out with their reason).
DISTRIBUTED = ("bucketsync-dist-1w", "bucketsync-dist-2w")
WORKLOAD_TOOLS = {
    "W1": ("bucketsync", *DISTRIBUTED, "aws", "s5cmd", "rclone", "ceiling"),
    "W2": ("bucketsync", *DISTRIBUTED, "aws", "s5cmd", "rclone", "ceiling"),
    "W3": ("bucketsync", *DISTRIBUTED, "aws", "s5cmd", "rclone", "ceiling"),
    "W4": ("bucketsync", *DISTRIBUTED, "aws+loop", "rclone", "ceiling"),
    "W5": ("bucketsync", *DISTRIBUTED, "aws", "s5cmd", "ceiling"),
    "W8": ("bucketsync", *DISTRIBUTED, "ceiling"),
    "W7": ("bucketsync", "aws", "s5cmd", "rclone"),
    "W6": ("bucketsync", "bucketsync-1range", *DISTRIBUTED, "bucketsync-dist-4w", "bucketsync-dist-4w-1range", "s5cmd",
           "rclone-checksum", "rclone-fast-list", "aws"),
}
NOT_IN_WORKLOAD = {
    ("W4", "aws"): "copies no lock state (its W4 entry is aws+loop)",
    ("W4", "s5cmd"): "has no Object Lock support",
    ("W8", "aws"): "copies current versions only",
    ("W8", "s5cmd"): "copies current versions only",
    ("W8", "rclone"): "writes no Object Lock state for older versions (--s3-versions reads them only)",
    ("W7", "ceiling"): "has no streamed copy between two servers",
    ("W5", "rclone"): "its first re-sync rewrites (server-side copy) every object without rclone's mtime metadata "
                      "to fix its modtime, even objects it copied itself (W3 shows it), so its run would not be a "
                      "no-change re-sync",
}


@dataclass
class Expect:
    """What a run had to do, for the rates: objects it had to consider and bytes it had to move."""

    objects: int
    bytes: int


class Session:
    """One workload's runs against one S3 server; collects a record per run."""

    def __init__(self, args, server: S3Server, tools: dict[str, Tool], workdir: Path, tag: str) -> None:
        self.args = args
        self.server = server
        self.endpoint = server.endpoint
        self.client = self.endpoint.client(pool=32)
        self.tools = tools
        self.workdir = workdir
        self.tag = tag
        self.records: list[dict] = []
        self.skipped: list[dict] = []

    # ------------------------------------------------------------ plumbing

    def use_server(self, server: S3Server) -> None:
        """Measure against another (already started) server from now on."""
        self.server = server
        self.endpoint = server.endpoint
        self.client = self.endpoint.client(pool=32)

    def say(self, text: str) -> None:
        print(f"bench: {text}", file=sys.stderr, flush=True)

    def tools_for(self, workload: str) -> list[Tool]:
        chosen = []
        wanted = set(self.args.tools) if self.args.tools else None
        for name in WORKLOAD_TOOLS[workload]:
            tool = self.tools[name]
            if wanted is not None and name not in wanted and not (name == "aws+loop" and "aws" in wanted):
                continue
            if tool.reason:
                self.skipped.append({"workload": workload, "tool": name, "reason": tool.reason})
                self.say(f"{workload}: skipping {name}: {tool.reason}")
                continue
            chosen.append(tool)
        for (where, name), reason in NOT_IN_WORKLOAD.items():
            if where == workload and (wanted is None or name in wanted):
                self.skipped.append({"workload": workload, "tool": name, "reason": reason})
        return chosen

    @staticmethod
    def rotated(tools: list[Tool], round_index: int) -> list[Tool]:
        shift = round_index % len(tools) if tools else 0
        return tools[shift:] + tools[:shift]

    def bucket(self, *parts: object) -> str:
        return bucket_name("b", self.tag, *parts)

    @property
    def external(self) -> bool:
        return self.server.name == "external"

    @property
    def on_rgw(self) -> bool:
        """On the bench's own Ceph RGW, shared by every workload: buckets are removed after use, and
        servers of a workload's own (W6, W7) are views of it."""
        return self.server.name == "rgw"

    def lock_unit(self) -> timedelta:
        """Retention unit for W4: days on our own moto; hours on someone's server (COMPLIANCE cannot be undone)."""
        return timedelta(hours=1) if self.external else timedelta(days=1)

    def clean_up(self, *buckets: str) -> None:
        """On a server given by URL or our shared RGW, remove what the workload left (our own moto just stops)."""
        if self.external or self.on_rgw:
            for bucket in buckets:
                if not delete_bucket(self.client, bucket) and self.external:
                    self.say(f"could not delete bucket {bucket} (locked objects?): remove it by hand")

    def measure(self, workload: str, phase: str, tool: Tool, job: Job, repeat: int, expect: Expect,
                verify: Callable[[dict], Verdict]) -> dict:
        """Run one tool once, then verify. verify(extras) returns the Verdict (and may add to extras)."""
        self.say(f"{workload} {phase}: {tool.name} (round {repeat + 1}) …")
        with tool.services(job) as services:
            command = tool.command(job)
            offset = self.server.log_offset()
            cpu_before = self.server.cpu_seconds()
            measurement = run_measured(command.argv, command.env, job.workdir, job.name, self.args.timeout)
            measurement = services.account(measurement)
            time.sleep(0.2)  # let the server write its last access-log lines
            cpu_after = self.server.cpu_seconds()
            requests = self.server.requests_between(offset, self.server.log_offset(), {job.source, job.dest})
            extras = tool.extras(job, measurement)
        extras["requests_to_dest_that_write"] = (
            sum(n for op, n in requests.items() if op in WRITES) if requests is not None else None
        )
        verdict = verify(extras)
        ok = verdict.correct and measurement.exit_code == 0 and not measurement.timed_out
        wall = measurement.wall_seconds
        record = {
            "workload": workload,
            "phase": phase,
            "tool": tool.name,
            "role": tool.role,
            "repeat": repeat,
            "source": job.source,
            "dest": job.dest,
            "objects": expect.objects,
            "bytes": expect.bytes,
            "wall_s": round(wall, 3),
            "objects_per_s": round(expect.objects / wall, 1) if wall > 0 else None,
            "mb_per_s": round(expect.bytes / MiB / wall, 2) if wall > 0 and expect.bytes else None,
            "user_s": round(measurement.user_seconds, 3),
            "sys_s": round(measurement.system_seconds, 3),
            "cpu_s": round(measurement.cpu_seconds, 3),
            "peak_rss_mib": round(measurement.peak_rss_mib, 1),
            "exit_code": measurement.exit_code,
            "timed_out": measurement.timed_out,
            "correct": ok,
            "verdict": verdict.to_json(),
            "server_cpu_s": round(cpu_after - cpu_before, 3) if cpu_before is not None and cpu_after is not None else None,
            "server_rss_mib": round(self.server.rss_mib(), 1) if self.server.rss_mib() is not None else None,
            "requests": requests,
            "extras": extras,
            "argv": command.argv,
        }
        if not ok:
            record["stderr_tail"] = measurement.stderr_tail()
        self.records.append(record)
        flag = "ok" if ok else f"NOT CORRECT ({'; '.join(verdict.examples[:2]) or measurement.stderr_tail(2)})"
        self.say(f"  {wall:.2f} s, cpu {measurement.cpu_seconds:.2f} s, rss {measurement.peak_rss_mib:.0f} MiB, {flag}")
        return record

    def job(self, tool: Tool, source: str, dest: str, locks: bool, name: str) -> Job:
        return Job(self.endpoint, source, dest, locks, self.workdir / "runs", name)

    def seed(self, bucket: str, items, lock: bool = False) -> dict[str, tuple[int, str]]:
        started = time.monotonic()
        create_bucket(self.client, bucket, lock=lock)
        count = put_items(self.client, bucket, items, threads=self.args.seed_threads)
        self.say(f"seeded {count} objects into {bucket} in {time.monotonic() - started:.1f} s")
        return list_all(self.client, bucket)

    def copy_round(self, workload: str, phase: str, source: str, listing: dict, repeats: int, expect: Expect) -> None:
        """W1/W2: each tool copies the source into a fresh, empty destination; verified; then removed."""
        tools = self.tools_for(workload)
        for repeat in range(repeats):
            for tool in self.rotated(tools, repeat):
                dest = self.bucket(workload, tool.name, repeat)
                create_bucket(self.client, dest)
                job = self.job(tool, source, dest, False, f"{workload}-{tool.name}-{repeat}".replace("+", ""))
                self.measure(workload, phase, tool, job, repeat, expect,
                             lambda extras: verify_copy(self.client, source, listing, dest, self.args.seed_threads))
                delete_bucket(self.client, dest)


# ---------------------------------------------------------------- the workloads


def scaled(count: int, scale: float, minimum: int) -> int:
    return max(minimum, round(count * scale))


def run_w1(session: Session, scale: float) -> None:
    count = scaled(5000, scale, 50)
    prefixes = min(50, count)
    source = session.bucket("w1", "src")
    listing = session.seed(source, small_objects(count, prefixes, KiB))
    session.copy_round("W1", f"copy {count} x 1 KiB", source, listing, session.args.repeats, Expect(count, count * KiB))
    session.clean_up(source)


def run_w2(session: Session, scale: float) -> None:
    count = scaled(20, scale, 4)
    size = 32 * MiB
    source = session.bucket("w2", "src")
    listing = session.seed(source, large_objects(count, size))
    session.copy_round("W2", f"copy {count} x 32 MiB", source, listing, session.args.repeats, Expect(count, count * size))
    session.clean_up(source)


def run_w3(session: Session, scale: float) -> None:
    """Per round: every tool makes its own copy (not timed as W3), re-syncs it unchanged (timed); then 1 %
    of the source is overwritten (same size, new bytes, a later second) and every tool re-syncs (timed)."""
    count = scaled(5000, scale, 100)
    prefixes = min(50, count)
    changed_count = max(1, round(count * 0.01))
    source = session.bucket("w3", "src")
    session.seed(source, small_objects(count, prefixes, KiB))
    tools = session.tools_for("W3")
    rng = random.Random(3)
    for repeat in range(session.args.repeats):
        order = session.rotated(tools, repeat)
        dests: dict[str, str] = {}
        listing = list_all(session.client, source)
        for tool in order:
            dest = dests[tool.name] = session.bucket("w3", tool.name, repeat)
            create_bucket(session.client, dest)
            stem = f"W3-{tool.name}-{repeat}".replace("+", "")
            session.measure("W3", "initial copy (setup)", tool, session.job(tool, source, dest, False, stem + "-initial"),
                            repeat, Expect(count, count * KiB),
                            lambda extras, d=dest: verify_copy(session.client, source, listing, d))
            session.measure("W3", f"no-change {count}", tool, session.job(tool, source, dest, False, stem + "-nochange"),
                            repeat, Expect(count, 0),
                            lambda extras, d=dest: _no_write_verdict(session, source, listing, d, extras))
        time.sleep(1.1)  # S3 timestamps have whole seconds: the overwrite must be visibly newer
        changed = rng.sample(sorted(listing), changed_count)
        overwrite_some(session.client, source, changed, KiB)
        listing = list_all(session.client, source)
        for tool in order:
            dest = dests[tool.name]
            stem = f"W3-{tool.name}-{repeat}".replace("+", "")
            session.measure("W3", f"1% changed ({changed_count} of {count})", tool,
                            session.job(tool, source, dest, False, stem + "-changed"), repeat,
                            Expect(count, changed_count * KiB),
                            lambda extras, d=dest: verify_copy(session.client, source, listing, d))
        for dest in dests.values():
            delete_bucket(session.client, dest)
    session.clean_up(source)


def _no_write_verdict(session: Session, source: str, listing: dict, dest: str, extras: dict) -> Verdict:
    verdict = verify_copy(session.client, source, listing, dest)
    writes = extras.get("requests_to_dest_that_write")
    if writes:
        verdict.note = (verdict.note + "; " if verdict.note else "") + f"{writes} write requests in a no-change re-sync"
    return verdict


def run_w4(session: Session, scale: float) -> None:
    """Per round: every tool copies into a fresh lock-enabled destination (timed, locks verified); then 5 %
    of the source objects change lock state (retention extended 10 days, or legal hold toggled) and every
    tool re-syncs its destination (timed; counts how many of the changes arrived)."""
    count = scaled(2000, scale, 20)
    changed_count = max(2, round(count * 0.05))
    source = session.bucket("w4", "src")
    if session.external:
        session.say("W4 on a server given by URL: locked objects (retention 1–70 hours, COMPLIANCE included) "
                    "stay in its buckets until their dates pass")
    listing = session.seed(source, locked_objects(count, KiB, datetime.now(timezone.utc), session.lock_unit()), lock=True)
    tools = session.tools_for("W4")
    rng = random.Random(4)
    for repeat in range(session.args.repeats):
        order = [tool for tool in session.rotated(tools, repeat)
                 if not (tool.name == "aws+loop" and repeat >= session.args.loop_repeats)]
        source_locks = read_locks(session.client, source, listing.keys())
        dests: dict[str, str] = {}
        for tool in order:
            dest = dests[tool.name] = session.bucket("w4", tool.name, repeat)
            create_bucket(session.client, dest, lock=True)
            stem = f"W4-{tool.name}-{repeat}".replace("+", "")

            def verify_initial(extras: dict, d: str = dest) -> Verdict:
                verdict = verify_copy(session.client, source, listing, d)
                verify_locks(session.client, d, source_locks, verdict)
                return verdict

            session.measure("W4", f"initial {count} locked/unlocked", tool,
                            session.job(tool, source, dest, True, stem + "-initial"), repeat,
                            Expect(count, count * KiB), verify_initial)
            if tool.name != "aws+loop":  # its loop takes as long as in the lock-change phase (~1 s per object)
                session.measure("W4", f"no-change {count} (lock pass)", tool,
                                session.job(tool, source, dest, True, stem + "-nochange"), repeat,
                                Expect(count, 0), verify_initial)
        time.sleep(1.1)
        changed = sorted(rng.sample(sorted(listing), changed_count))
        what = change_locks(session.client, source, changed, source_locks, unit=session.lock_unit())
        new_locks = read_locks(session.client, source, listing.keys())
        for tool in order:
            dest = dests[tool.name]
            stem = f"W4-{tool.name}-{repeat}".replace("+", "")

            def verify_change(extras: dict, d: str = dest) -> Verdict:
                verdict = verify_copy(session.client, source, listing, d)
                actual = verify_locks(session.client, d, new_locks, verdict)
                reached = [key for key in changed if actual.get(key) == new_locks[key]]
                extras["changes"] = len(changed)
                extras["changes_reached"] = len(reached)
                extras["changes_reached_by_kind"] = {
                    kind: sum(1 for key in reached if what[key] == kind) for kind in sorted(set(what.values()))
                }
                extras["changes_by_kind"] = {kind: sum(1 for key in changed if what[key] == kind) for kind in sorted(set(what.values()))}
                return verdict

            session.measure("W4", f"lock change on 5% ({changed_count})", tool,
                            session.job(tool, source, dest, True, stem + "-lockchange"), repeat,
                            Expect(count, 0), verify_change)
    # Locked destinations cannot be deleted; a moto server of our own goes away with them.


def run_w5(session: Session, scale: float) -> None:
    """No-change re-sync of 0-byte objects at two sizes. Source and destination hold the same keys (the
    destination newer: a no-change for aws and s5cmd too). Every tool re-syncs the same destination; a run
    is correct when it wrote nothing (server log) and the listing still matches.

    On our own moto, each size gets a server of its own (bench/moto_server.py) that lists from a sorted
    index and starts with both buckets preloaded; on a server given by URL the buckets are seeded over
    HTTP, the small size first, then topped up to the large one."""
    small = scaled(50_000, scale, 200)
    large = scaled(200_000, scale, 800)
    tools = session.tools_for("W5")
    seeded = 0
    for total in (small, large):
        own_server = None
        if session.external:
            source, dest = session.bucket("w5", "src"), session.bucket("w5", "dst")
            started = time.monotonic()
            if not seeded:
                create_bucket(session.client, source)
                create_bucket(session.client, dest)
            put_items(session.client, source, empty_objects(seeded, total), threads=session.args.seed_threads)
            put_items(session.client, dest, empty_objects(seeded, total), threads=session.args.seed_threads)
            session.say(f"W5: seeded {total - seeded} more objects into both buckets in {time.monotonic() - started:.0f} s")
            seeded = total
        else:
            source, dest = session.bucket("w5", "src", total), session.bucket("w5", "dst", total)
            started = time.monotonic()
            own_server = MotoServer(session.workdir / f"server-{total}", indexed_listing=True,
                                    preload=(f"{source}={total}", f"{dest}={total}+2"))
            own_server.start()
            session.use_server(own_server)
            session.say(f"W5: moto with indexed listing, {total} objects preloaded into both buckets, "
                        f"ready in {time.monotonic() - started:.0f} s")
        try:
            _w5_runs(session, tools, source, dest, total)
        finally:
            if own_server is not None:
                own_server.stop()
    if session.external:
        session.clean_up(source, dest)


W6_LAYOUTS = ("flat", "p100", "deep")  # deep: one prefix four levels down, beyond the first cut's reach


def run_w6(session: Session, scale: float) -> None:
    """Listing-bound no-change re-sync: flat hash-named keys, then keys under 100 prefixes, each on a moto of
    its own (indexed listing, both buckets preloaded, the destination 2 s newer), behind the delay proxy."""
    total = scaled(200_000, scale, 1000)
    tools = session.tools_for("W6")
    if session.external:
        session.say("W6: runs on our own moto only (preloaded buckets)")
        return
    rgw = session.server if session.on_rgw else None
    for layout in [layout for layout in W6_LAYOUTS if layout in session.args.w6_layouts.split(",")]:
        source, dest = session.bucket("w6", layout, "src"), session.bucket("w6", layout, "dst")
        started = time.monotonic()
        if rgw is not None:  # seeded through S3: the source first, so the destination is the newer side
            own_server = rgw
            # around the delay proxy: it is there for the tools, and would make seeding the slow part
            seeding = getattr(rgw, "inner", rgw).endpoint.client(pool=32)
            for bucket in (source, dest):
                create_bucket(seeding, bucket)
                put_items(seeding, bucket, empty_layout(total, layout), threads=session.args.seed_threads)
        else:
            own_server = delayed(MotoServer(session.workdir / f"server-{layout}", indexed_listing=True,
                                            preload=(f"{source}={total}%{layout}", f"{dest}={total}+2%{layout}")),
                                 session.args.delay_ms)
            own_server.start()
        session.use_server(own_server)
        session.say(f"W6 {layout}: {total} objects {'seeded' if rgw else 'preloaded'} into both buckets in "
                    f"{time.monotonic() - started:.0f} s, delay {session.args.delay_ms:g} ms each way")
        try:
            _w5_runs(session, tools, source, dest, total, workload="W6", phase=f"no-change {total} {layout}")
        finally:
            if rgw is None:
                own_server.stop()
            else:
                session.clean_up(source, dest)


def empty_layout(total: int, layout: str):
    """W6's keys as 0-byte items, for a server seeded through S3 (our RGW)."""
    from moto_server import key_name

    return (Item(key_name(index, layout), b"") for index in range(total))


def _w5_runs(session: Session, tools: list[Tool], source: str, dest: str, total: int, workload: str = "W5",
             phase: str | None = None) -> None:
    listing = list_all(session.client, source)
    for repeat in range(session.args.w5_repeats):
        for tool in session.rotated(tools, repeat):
            stem = f"{workload}-{tool.name}-{total}-{phase.split()[-1] if phase else ''}-{repeat}".replace("+", "")

            def verify_no_write(extras: dict) -> Verdict:
                writes = extras.get("requests_to_dest_that_write")
                if writes is None:  # no server log: compare the listing instead
                    return verify_copy(session.client, source, listing, dest)
                verdict = Verdict(checked=len(listing), note="checked by the server log: no write requests")
                if writes:
                    verdict.content_mismatch = writes
                    verdict.problem(f"{writes} write requests in a no-change re-sync")
                return verdict

            session.measure(workload, phase or f"no-change {total}", tool, session.job(tool, source, dest, False, stem),
                            repeat, Expect(total, 0), verify_no_write)
    final = verify_copy(session.client, source, listing, dest)
    session.say(f"{workload} {total}: destination listing after all runs {'matches' if final.correct else 'DIFFERS'}")


VERSIONS_PER_KEY = 5


def seed_histories(session: Session, bucket: str, keys: int) -> int:
    """W8: every key gets VERSIONS_PER_KEY versions, written round by round (all keys' first versions, then
    the second…), a third of the keys with a retention on every version, every tenth key then deleted
    (a delete marker on top). Returns how many entries the source lists."""
    now = datetime.now(timezone.utc)
    create_bucket(session.client, bucket, lock=True)
    unit = session.lock_unit()
    for round_index in range(VERSIONS_PER_KEY):
        items = []
        for index in range(keys):
            args: dict = {}
            if index % 3 == 0:
                args["ObjectLockMode"] = "COMPLIANCE" if index % 6 == 0 else "GOVERNANCE"
                args["ObjectLockRetainUntilDate"] = now + unit * (1 + index % 30) + timedelta(seconds=round_index)
            items.append(Item(f"h{index % 20:02d}/record-{index:06d}", os.urandom(KiB), args))
        put_items(session.client, bucket, items, threads=session.args.seed_threads)
    deleted = [f"h{index % 20:02d}/record-{index:06d}" for index in range(0, keys, 10)]
    for key in deleted:
        session.client.delete_object(Bucket=bucket, Key=key)
    return keys * VERSIONS_PER_KEY + len(deleted)


def history_signature(client, bucket: str) -> dict[str, tuple]:
    """Per key: its versions' ETags oldest first, its delete marker count, and whether a marker is current."""
    versions: dict[str, list[str]] = {}
    markers: dict[str, int] = {}
    deleted: set[str] = set()
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", ()):
            versions.setdefault(item["Key"], []).insert(0, item["ETag"])
        for item in page.get("DeleteMarkers", ()):
            markers[item["Key"]] = markers.get(item["Key"], 0) + 1
            if item.get("IsLatest"):
                deleted.add(item["Key"])
    return {key: (tuple(versions.get(key, ())), markers.get(key, 0), key in deleted) for key in versions.keys() | markers.keys()}


def verify_histories(client, source: str, dest: str, locked_keys: list[str]) -> Verdict:
    """Same history shape per key, and every version of the locked keys with its source version's lock."""
    wanted, held = history_signature(client, source), history_signature(client, dest)
    verdict = Verdict(checked=len(wanted))
    for key in sorted(wanted):
        if key not in held:
            verdict.missing += 1
            verdict.problem(f"{key}: no history at the destination")
        elif held[key] != wanted[key]:
            verdict.content_mismatch += 1
            verdict.problem(f"{key}: history {held[key]} instead of {wanted[key]}")
    for key in locked_keys[:50]:  # a sample: every version of 50 locked keys
        ids = [[v["VersionId"] for v in client.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
                if v["Key"] == key] for bucket in (source, dest)]
        for source_id, dest_id in zip(*ids):
            a = lock_of(client.head_object(Bucket=source, Key=key, VersionId=source_id))
            b = lock_of(client.head_object(Bucket=dest, Key=key, VersionId=dest_id))
            if a != b:
                verdict.lock_mismatch += 1
                verdict.problem(f"{key} {source_id}: lock {b} instead of {a}")
    return verdict


def run_w8(session: Session, scale: float) -> None:
    """Per round: every tool replicates the whole history into a fresh lock-enabled destination (timed), then
    re-syncs it unchanged (timed; the lock state of every version is compared)."""
    keys = scaled(2000, scale, 12)
    source = session.bucket("w8", "src")
    started = time.monotonic()
    entries = seed_histories(session, source, keys)
    session.say(f"W8: seeded {keys} keys, {entries} versions and delete markers in {time.monotonic() - started:.0f} s")
    locked_keys = [f"h{index % 20:02d}/record-{index:06d}" for index in range(0, keys, 3)]
    tools = session.tools_for("W8")
    for repeat in range(session.args.repeats):
        for tool in session.rotated(tools, repeat):
            dest = session.bucket("w8", tool.name, repeat)
            create_bucket(session.client, dest, lock=True)
            stem = f"W8-{tool.name}-{repeat}".replace("+", "")
            for phase, suffix in ((f"history {entries} entries", "-initial"), (f"no-change {entries} entries", "-nochange")):
                job = session.job(tool, source, dest, True, stem + suffix)
                job.all_versions = True
                session.measure("W8", phase, tool, job, repeat,
                                Expect(entries, keys * VERSIONS_PER_KEY * KiB if suffix == "-initial" else 0),
                                lambda extras, d=dest: verify_histories(session.client, source, d, locked_keys))
    # Locked destinations cannot be deleted; a moto server of our own goes away with them.


W7_SIZE = GiB
W7_SOURCE_PART = 16 * MiB  # the source objects' multipart layout (bucketsync's default multipart_chunksize)
W7_VERIFY_THREADS = 4  # moto holds an object's whole body per GET: at most 4 GiB at once
# W7 streamed: which tools can copy between two servers, and why the others cannot.
W7_STREAMED = ("bucketsync", "rclone")
W7_ONE_ENDPOINT = {
    "aws": "streamed: aws s3 sync takes one --endpoint-url for both buckets",
    "s5cmd": "streamed: s5cmd takes one --endpoint-url (no copy between two servers)",
}


def run_w7(session: Session, scale: float) -> None:
    """Large objects, per round: every tool copies the source into a fresh destination on the same server
    (server-side: CopyObject / UploadPartCopy), then every tool that can copies it into a fresh destination
    on a second server (streamed: GET from one, PUT to the other). Each server on our own moto behind its
    own delay proxy (--delay-ms), with part copies that read only their range (bench/moto_server.py)."""
    count = scaled(4, scale, 1)
    if session.external:
        session.say("W7: runs on our own moto only (two servers)")
        return
    tools = session.tools_for("W7")
    streamed_tools = [tool for tool in tools if tool.name in W7_STREAMED]
    for tool in tools:
        if tool.name in W7_ONE_ENDPOINT:
            session.skipped.append({"workload": "W7", "tool": tool.name, "reason": W7_ONE_ENDPOINT[tool.name]})
    delay = session.args.delay_ms
    if session.on_rgw:  # the destination "server" of the streamed phase: the same RGW, another user
        from dataclasses import replace

        rgw = session.server.inner if hasattr(session.server, "inner") else session.server
        source_server = delayed(rgw.rgw.view(), delay)
        second = rgw.rgw.view()
        second.endpoint = rgw.rgw.second_user()
        dest_server = delayed(second, delay)
    else:
        source_server = delayed(MotoServer(session.workdir / "server-source", ranged_part_copies=True), delay)
        dest_server = delayed(MotoServer(session.workdir / "server-dest", ranged_part_copies=True), delay)
    pair = ServerPair(source_server, dest_server)
    pair.start()
    try:
        session.use_server(source_server)
        dest_client = dest_server.endpoint.client(pool=32)
        source = session.bucket("w7", "src")
        create_bucket(session.client, source)
        started = time.monotonic()
        md5s = {}
        for index in range(count):  # one object at a time: moto joins a completed upload's parts in memory
            key = f"large/obj-{index:03d}"
            md5s[key] = put_random_multipart(session.client, source, key, W7_SIZE, W7_SOURCE_PART)
        listing = list_all(session.client, source)
        session.say(f"W7: seeded {count} x 1 GiB ({W7_SOURCE_PART // MiB} MiB parts) in {time.monotonic() - started:.0f} s, "
                    f"delay {delay:g} ms each way")
        expect = Expect(count, count * W7_SIZE)
        phases = (("server-side", tools, source_server, session.client), ("streamed", streamed_tools, pair, dest_client))
        for repeat in range(session.args.repeats):
            for phase, chosen, server, client in phases:
                session.use_server(server)
                for tool in session.rotated(chosen, repeat):
                    dest = session.bucket("w7", phase, tool.name, repeat)
                    create_bucket(client, dest)
                    job = session.job(tool, source, dest, False, f"W7-{phase}-{tool.name}-{repeat}")
                    if phase == "streamed":
                        job.dest_endpoint = dest_server.endpoint

                    def verify(extras: dict, client=client, dest: str = dest, server: S3Server = server) -> Verdict:
                        extras["servers_peak_rss_mib"] = server.peak_rss_mib()
                        return verify_copy(client, source, listing, dest, W7_VERIFY_THREADS, source_md5=md5s)

                    record = session.measure("W7", f"{phase} {count} x 1 GiB", tool, job, repeat, expect, verify)
                    session.say(f"  moto peak RSS so far: {record['extras'].get('servers_peak_rss_mib') or 0:.0f} MiB")
                    delete_bucket(client, dest)
    finally:
        session.use_server(source_server)
        pair.stop()


def run_w9(session: Session, scale: float) -> None:
    from watch_bench import run_w9 as watch_w9

    watch_w9(session, scale)


RUNNERS = {"W1": run_w1, "W2": run_w2, "W3": run_w3, "W4": run_w4, "W5": run_w5, "W6": run_w6, "W7": run_w7,
           "W8": run_w8, "W9": run_w9}
