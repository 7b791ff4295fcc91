"""`bucketsync demo`: a throwaway local S3 server (moto), locked objects, one replication, a lock check."""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
from datetime import datetime, timedelta, timezone

from rich.console import Console
from rich.table import Table

from ..run import report

SOURCE, DEST, HISTORY_DEST = "demo-source", "demo-replica", "demo-history"
RECORD_KEY = "ledger/q3 compliance+audit.csv"
DEMO_KEYS = ("demo", "demo-secret")
LOCKED_KEYS = ("contracts/2026/signed contract.pdf",)
PLAIN_KEY = "plain/file {:04d}.txt"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _seed(client, count: int) -> None:
    now = datetime.now(timezone.utc)
    client.create_bucket(Bucket=SOURCE, ObjectLockEnabledForBucket=True)
    client.create_bucket(Bucket=DEST, ObjectLockEnabledForBucket=True)
    locked = [
        (LOCKED_KEYS[0], {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": now + timedelta(days=30)}),
        (RECORD_KEY, {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": now + timedelta(days=365)}),
        ("evidence/case #7?/photo 100%.jpg", {"ObjectLockLegalHoldStatus": "ON"}),
    ]
    for index, (key, lock) in enumerate(locked):
        body = f"locked object {index}\n".encode()
        client.put_object(
            Bucket=SOURCE, Key=key, Body=body, ContentType="text/plain", Metadata={"origin": "demo"},
            Tagging="class=records", ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode(), **lock,
        )
    for index in range(count - len(locked)):
        client.put_object(Bucket=SOURCE, Key=PLAIN_KEY.format(index), Body=f"plain {index}\n".encode())


def _lock_of(head: dict) -> str:
    parts = []
    if head.get("ObjectLockMode"):
        parts.append(f"{head['ObjectLockMode']} until {head['ObjectLockRetainUntilDate']:%Y-%m-%d %H:%M:%S}")
    if head.get("ObjectLockLegalHoldStatus") == "ON":
        parts.append("legal hold")
    return ", ".join(parts) or "-"


def _record_versions(client, bucket: str) -> list[tuple[str, str]]:
    """The COMPLIANCE record's versions, oldest first: (bytes, lock)."""
    listed = client.list_object_versions(Bucket=bucket, Prefix=RECORD_KEY).get("Versions", [])
    return [
        (
            client.get_object(Bucket=bucket, Key=RECORD_KEY, VersionId=item["VersionId"])["Body"].read().decode().strip(),
            _lock_of(client.head_object(Bucket=bucket, Key=RECORD_KEY, VersionId=item["VersionId"])),
        )
        for item in reversed(listed)
    ]


def _show_history(client, settings, console: Console) -> bool:
    """Overwrite the COMPLIANCE record, then replicate the whole history (`--all-versions`) into a new bucket."""
    from ..run.context import prepare_run
    from ..run.embedded_versions import run_embedded_versions

    until = datetime.now(timezone.utc) + timedelta(days=365)
    body = b"locked object 1, amended\n"
    client.put_object(
        Bucket=SOURCE, Key=RECORD_KEY, Body=body, ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=until,
        ContentMD5=base64.b64encode(hashlib.md5(body).digest()).decode(),
    )
    client.create_bucket(Bucket=HISTORY_DEST, ObjectLockEnabledForBucket=True)
    request, ctx = prepare_run(settings, f"s3://{SOURCE}", f"s3://{HISTORY_DEST}", all_versions=True)
    summary = run_embedded_versions(ctx, request)
    source, replica = _record_versions(client, SOURCE), _record_versions(client, HISTORY_DEST)
    table = Table(title=f"sync --all-versions: the overwritten COMPLIANCE record {RECORD_KEY!r}, oldest first")
    for column in ("version", "source", "replica", "match"):
        table.add_column(column)
    for number, (ours, theirs) in enumerate(zip(source, replica), start=1):
        table.add_row(f"{number}: {ours[0]}", ours[1], theirs[1], "yes" if ours == theirs else "NO")
    console.print(table)
    console.print(f"History run: listed {summary.listed} versions, copied {summary.copied}, failed {summary.failed}.")
    return summary.failed == 0 and len(source) == 2 and source == replica


def run_demo(count: int, console: Console) -> int:
    from moto.server import ThreadedMotoServer

    from ..run.context import prepare_run
    from ..run.embedded import run_embedded
    from ..engine.s3 import make_client
    from ..core.settings import load_settings

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        side = {"endpoint_url": endpoint, "access_key_id": DEMO_KEYS[0], "secret_access_key": DEMO_KEYS[1], "region": "us-east-1"}
        settings = load_settings(source=side, dest=side)
        client = make_client(settings.source, settings)
        console.print(f"Local S3 server (moto) on {endpoint}; seeding s3://{SOURCE} with {count} objects, 3 of them locked…")
        _seed(client, count)

        request, ctx = prepare_run(settings, f"s3://{SOURCE}", f"s3://{DEST}")
        summary = run_embedded(ctx, request)
        console.print(report.render_text(summary), highlight=False, markup=False)

        table = Table(title="Lock state: source vs replica")
        for column in ("key", "source", "replica", "match"):
            table.add_column(column)
        mismatches = 0
        for item in client.list_objects_v2(Bucket=SOURCE)["Contents"]:
            source_lock = _lock_of(client.head_object(Bucket=SOURCE, Key=item["Key"]))
            replica_lock = _lock_of(client.head_object(Bucket=DEST, Key=item["Key"]))
            if source_lock == "-" and replica_lock == "-":
                continue
            same = source_lock == replica_lock
            mismatches += not same
            table.add_row(item["Key"], source_lock, replica_lock, "yes" if same else "NO")
        console.print(table)

        # Lock changes never show in a listing: extend one retention and place one legal hold at the
        # source, and the next run carries both over without copying any bytes.
        extended = datetime.now(timezone.utc) + timedelta(days=60)
        client.put_object_retention(
            Bucket=SOURCE, Key=LOCKED_KEYS[0], Retention={"Mode": "GOVERNANCE", "RetainUntilDate": extended}
        )
        client.put_object_legal_hold(Bucket=SOURCE, Key=PLAIN_KEY.format(0), LegalHold={"Status": "ON"})
        again, again_ctx = prepare_run(settings, f"s3://{SOURCE}", f"s3://{DEST}")
        second = run_embedded(again_ctx, again)
        replica = client.head_object(Bucket=DEST, Key=LOCKED_KEYS[0])
        held = client.head_object(Bucket=DEST, Key=PLAIN_KEY.format(0)).get("ObjectLockLegalHoldStatus")
        propagated = replica["ObjectLockRetainUntilDate"].replace(microsecond=0) == extended.replace(microsecond=0) and held == "ON"
        console.print(
            f"Second run, after extending one retention and placing one legal hold at the source: "
            f"copied {second.copied}, lock-updated {second.lock_updated}, skipped {second.skipped} "
            f"({'both changes reached the replica' if propagated else 'CHANGES MISSING at the replica'})."
        )
        history_ok = _show_history(client, settings, console)
        ok = (
            mismatches == 0 and summary.failed == 0 and summary.copied == count
            and second.copied == 0 and second.lock_updated == 2 and propagated and history_ok
        )
        console.print("Demo OK: every object and lock replicated." if ok else "Demo FAILED: see above.")
        return 0 if ok else 1
    finally:
        server.stop()
