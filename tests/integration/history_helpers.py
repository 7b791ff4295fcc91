"""Reading a bucket's version histories in tests, without the code under test's ordering rule.

Versions are compared in the order the server lists them (always right within the versions); delete
markers by count, and the current entry by IsLatest: what every server tells unambiguously.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any


def put_versions(client, bucket: str, key: str, bodies: list[bytes], **args: Any) -> list[str]:
    """One PutObject per body, oldest first; the new version ids."""
    return [client.put_object(Bucket=bucket, Key=key, Body=body, **args)["VersionId"] for body in bodies]


def _entries(client, bucket: str, prefix: str = "") -> tuple[list[dict], list[dict]]:
    versions: list[dict] = []
    markers: list[dict] = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
        versions += page.get("Versions", [])
        markers += page.get("DeleteMarkers", [])
    return versions, markers


def history_shape(client, bucket: str, prefix: str = "") -> dict[str, dict[str, Any]]:
    """Per key: its versions' bodies oldest first (as short text), its delete marker count, and what is current
    ("DM" or the current version's body)."""
    versions, markers = _entries(client, bucket, prefix)
    shape: dict[str, dict[str, Any]] = {}
    for item in versions:
        body = client.get_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])["Body"].read().decode()
        entry = shape.setdefault(item["Key"][len(prefix):], {"versions": [], "markers": 0, "latest": None})
        entry["versions"].insert(0, body)
        if item.get("IsLatest"):
            entry["latest"] = body
    for item in markers:
        entry = shape.setdefault(item["Key"][len(prefix):], {"versions": [], "markers": 0, "latest": None})
        entry["markers"] += 1
        if item.get("IsLatest"):
            entry["latest"] = "DM"
    return shape


def version_locks(client, bucket: str, key: str) -> list[dict[str, Any]]:
    """The lock state of each version of `key`, oldest first (expired retention read as none)."""
    versions, _ = _entries(client, bucket, key)
    locks = []
    for item in reversed([v for v in versions if v["Key"] == key]):
        head = client.head_object(Bucket=bucket, Key=key, VersionId=item["VersionId"])
        until = head.get("ObjectLockRetainUntilDate")
        active = until is not None and until > datetime.now(timezone.utc)
        locks.append({
            "mode": head.get("ObjectLockMode") if active else None,
            "retain_until": until.astimezone(timezone.utc).replace(microsecond=0) if active else None,
            "legal_hold": head.get("ObjectLockLegalHoldStatus") == "ON",
        })
    return locks
