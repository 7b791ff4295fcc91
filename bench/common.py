"""Values every part of the benchmark shares: the S3 endpoint, boto3 clients, bucket names, a bounded pool."""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# The interpreter running the bench is the project's .venv one (bench/run makes sure of it); its bin/
# holds bucketsync, aws, rclone and the s5cmd wrapper once installed.
VENV_BIN = Path(sys.executable).parent

T = TypeVar("T")


@dataclass(frozen=True)
class Endpoint:
    """One S3 server and the credentials every tool uses on it (source and destination share both)."""

    url: str
    access_key_id: str
    secret_access_key: str
    region: str = "us-east-1"

    def client(self, pool: int = 32):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
            region_name=self.region,
            config=Config(
                retries={"mode": "standard", "max_attempts": 5},
                max_pool_connections=pool,
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )


def bucket_name(*parts: object) -> str:
    """A valid S3 bucket name from parts ('W1', 'aws+loop', 3 -> 'w1-awsloop-3'), at most 63 characters."""
    name = "-".join(re.sub(r"[^a-z0-9]+", "", str(part).lower()) for part in parts if str(part))
    name = re.sub(r"-+", "-", name).strip("-")
    if len(name) > 63:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = name[:54].rstrip("-") + "-" + digest
    return name


def run_pool(work: Callable[[T], Any], items: Iterable[T], threads: int) -> list[BaseException]:
    """Call work(item) on a thread pool with a bounded number of items in flight; returns the errors."""
    errors: list[BaseException] = []
    guard = threading.Lock()
    in_flight = threading.BoundedSemaphore(threads * 4)

    def one(item: T) -> None:
        try:
            work(item)
        except BaseException as exc:  # collected, reported by the caller
            with guard:
                errors.append(exc)
        finally:
            in_flight.release()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for item in items:
            in_flight.acquire()
            pool.submit(one, item)
    return errors


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2
