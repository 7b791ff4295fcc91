"""SSE-C keys stay in each process's environment: after a distributed run with keys on both sides, neither
key (base64 or raw) is anywhere in Redis (messages, results, ledger), in the worker's log or the report."""

from __future__ import annotations

import base64

import pytest
import redis

from conftest import create_bucket, unique_bucket
from tests.distributed.conftest import WorkerPool, broker_env
from tests.integration.helpers import explain, list_keys, sync

SOURCE_KEY = b"source-side sse-c key 32 bytes!!"
DEST_KEY = b"destination sse-c key, 32 bytes!"
KEYS = {"BUCKETSYNC_SOURCE__SSE_C_KEY": base64.b64encode(SOURCE_KEY).decode(),
        "BUCKETSYNC_DEST__SSE_C_KEY": base64.b64encode(DEST_KEY).decode()}


@pytest.fixture(scope="module")
def sse_c_workers(moto_server, redis_server):
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/4"
    redis.Redis.from_url(broker_url).flushdb()
    env = broker_env(moto_server, broker_url, page_size="10", batch_size="3") | KEYS
    pool = WorkerPool(env=env, broker_url=broker_url)
    pool.start("sse")
    yield pool
    pool.stop_all()


def redis_contents(url: str) -> list[bytes]:
    client = redis.Redis.from_url(url)
    found: list[bytes] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        found.append(key)
        if kind == "string":
            found.append(client.get(key) or b"")
        elif kind == "hash":
            found += [item for pair in client.hgetall(key).items() for item in pair]
        elif kind == "list":
            found += client.lrange(key, 0, -1)
        elif kind == "set":
            found += list(client.smembers(key))
        elif kind == "zset":
            found += [member for member, _ in client.zrange(key, 0, -1, withscores=True)]
    return found


def test_sse_c_keys_never_reach_redis_logs_or_the_report(s3, sse_c_workers, tmp_path):
    source, dest = create_bucket(s3, unique_bucket("ssrc")), create_bucket(s3, unique_bucket("sdst"))
    for index in range(25):
        s3.put_object(Bucket=source, Key=f"k{index:02d}", Body=b"x" * index)
    result = sync(f"s3://{source}", f"s3://{dest}", env=sse_c_workers.env | {"BUCKETSYNC_DEBUG": "1"},
                  report_path=tmp_path / "r.json")
    assert result.returncode == 0, explain(result) + sse_c_workers.log_text()
    assert result.report["copied"] == 25 and len(list_keys(s3, dest)) == 25

    secrets = [SOURCE_KEY, DEST_KEY, *(value.encode() for value in KEYS.values())]
    contents = redis_contents(sse_c_workers.broker_url)
    assert len(contents) > 10  # the run's ledger, results and messages are there to search
    for secret in secrets:
        assert not [item for item in contents if secret in item], "an SSE-C key is in Redis"
        assert secret.decode(errors="replace") not in sse_c_workers.log_text(tail=None)
        assert secret.decode(errors="replace") not in result.stdout + result.stderr
        assert secret not in (tmp_path / "r.json").read_bytes()
