"""Request and bandwidth limits, measured where the server would see them: at the FaultProxy in front
of moto, which records when each request arrived and what it carried. Each run lasts more than 10 s so
that "on average over any 10 s" is a real window. The proxy also answers some requests 503 SlowDown:
the report counts each one."""

from __future__ import annotations

import os

from conftest import unique_bucket
from tests.integration.helpers import cli_env, compare_buckets, explain, sync

from .conftest import through

RATE = 20  # requests per second
OBJECTS = 230  # one CopyObject each: with listing and preflight a run of ~12 s at RATE
SLOWDOWNS = 3
TOLERANCE = 0.10


def plain_pair(s3, objects: int) -> tuple[str, str]:
    source, dest = unique_bucket("psrc"), unique_bucket("pdst")
    s3.create_bucket(Bucket=source)
    s3.create_bucket(Bucket=dest)
    for index in range(objects):
        s3.put_object(Bucket=source, Key=f"plain/{index:04d}", Body=f"object {index}".encode())
    return source, dest


def slow_down_some_copies(proxy) -> None:
    # the run's own copies (not the destination quirk probe the submitter sends before the run)
    proxy.on(lambda request: request.operation == "CopyObject" and (request.key or "").startswith("plain/"),
             "slowdown", times=SLOWDOWNS)


def assert_request_rate(times: list[float], rate: float) -> None:
    """The mean rate over the run is the limit (±10 %), and no 10 s window holds more than 10 % over it."""
    times = sorted(times)
    span = times[-1] - times[0]
    assert span > 10, f"the run took {span:.1f} s: too short to measure a 10 s window"
    mean = (len(times) - 1) / span
    assert abs(mean - rate) <= TOLERANCE * rate, f"{len(times)} requests in {span:.1f} s: {mean:.1f}/s, limit {rate}"
    busiest = max(sum(1 for t in times[i:] if t < start + 10) for i, start in enumerate(times))
    assert busiest <= (1 + TOLERANCE) * rate * 10, f"{busiest} requests within 10 s, limit {rate}/s"


def test_embedded_run_keeps_the_request_limit(s3, moto_server, proxy, tmp_path):
    source, dest = plain_pair(s3, OBJECTS)
    slow_down_some_copies(proxy)
    result = sync(f"s3://{source}", f"s3://{dest}", "--max-requests-per-second", str(RATE),
                  env=cli_env(through(proxy, moto_server)), report_path=tmp_path / "report.json")
    assert result.returncode == 0, explain(result)
    assert result.report["copied"] == OBJECTS
    assert result.report["slowdowns"] == SLOWDOWNS
    assert f"503 SlowDown answers (retried): {SLOWDOWNS}" in result.stdout
    assert_request_rate([seen.at for seen in proxy.seen], RATE)
    assert compare_buckets(s3, source, s3, dest) == []


def test_distributed_run_keeps_the_request_limit_for_all_workers_together(s3, proxy, proxied_workers, tmp_path):
    source, dest = plain_pair(s3, OBJECTS)
    slow_down_some_copies(proxy)
    env = {**proxied_workers.env, "BUCKETSYNC_MAX_REQUESTS_PER_SECOND": str(RATE)}
    result = sync(f"s3://{source}", f"s3://{dest}", env=env, report_path=tmp_path / "report.json")
    assert result.returncode == 0, explain(result) + proxied_workers.log_text()
    assert result.report["mode"] == "distributed" and result.report["copied"] == OBJECTS
    assert result.report["slowdowns"] == SLOWDOWNS
    assert_request_rate([seen.at for seen in proxy.seen], RATE)
    assert compare_buckets(s3, source, s3, dest) == []


def test_streamed_run_keeps_the_bandwidth_limit(s3, moto_server, other_moto_server, proxy, other_proxy, tmp_path):
    """Different endpoints: every byte is read from the source and written to the destination here."""
    limit, sizes = 512 * 1024, [512 * 1024] * 5 + [300 * 1024, 7]
    source, dest = unique_bucket("bsrc"), unique_bucket("bdst")
    s3.create_bucket(Bucket=source)
    s3_dest = other_moto_server.client()
    s3_dest.create_bucket(Bucket=dest)
    for index, size in enumerate(sizes):
        s3.put_object(Bucket=source, Key=f"blob/{index}", Body=os.urandom(size))
    env = cli_env(through(proxy, moto_server), through(other_proxy, other_moto_server))
    result = sync(f"s3://{source}", f"s3://{dest}", "--max-bandwidth", "512KiB",
                  env=env, report_path=tmp_path / "report.json")
    assert result.returncode == 0, explain(result)
    assert result.report["bytes_copied"] == sum(sizes)

    reads = [seen for seen in proxy.seen if seen.operation == "GetObject" and seen.status == 200]
    writes = [seen for seen in other_proxy.seen if seen.operation == "PutObject"]
    assert sum(seen.response_bytes for seen in reads) == sum(sizes)
    span = max(seen.at for seen in writes) - min(seen.at for seen in reads)  # first byte asked to last byte sent on
    measured = sum(sizes) / span
    assert abs(measured - limit) <= TOLERANCE * limit, f"{sum(sizes)} bytes in {span:.2f} s: {measured:.0f} B/s"
    assert compare_buckets(s3, source, s3_dest, dest) == []
