"""A distributed run does what its submitter asked: the endpoints, regions and page size given to `sync`
travel with the run, over whatever the workers' own environment says; secrets never travel."""

from __future__ import annotations

import json

import pytest
import redis

from conftest import SECRET_KEY, create_bucket, free_port, run_cli, run_cli_in_process, unique_bucket
from bucketsync.distributed.ledger import run_key
from tests.distributed.conftest import WorkerPool, broker_env
from tests.distributed.test_sse_c_secrets import redis_contents
from tests.integration.helpers import check_error_exit, explain, list_keys, sync


@pytest.fixture(scope="module")
def misconfigured_workers(moto_server, redis_server):
    """A worker whose environment names a closed port as both endpoints, and the default page size."""
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/9"
    redis.Redis.from_url(broker_url).flushdb()
    dead = f"http://127.0.0.1:{free_port()}"
    env = broker_env(moto_server, broker_url) | {"BUCKETSYNC_SOURCE__ENDPOINT_URL": dead,
                                                 "BUCKETSYNC_DEST__ENDPOINT_URL": dead}
    pool = WorkerPool(env=env, broker_url=broker_url)
    pool.start("carried")
    yield pool
    pool.stop_all()


def test_the_submitters_endpoints_and_page_size_reach_the_workers(moto_server, s3, misconfigured_workers, tmp_path):
    source, dest = create_bucket(s3, unique_bucket("csrc")), create_bucket(s3, unique_bucket("cdst"))
    for index in range(10):
        s3.put_object(Bucket=source, Key=f"k{index:02d}", Body=b"x")
    submitter = misconfigured_workers.env | {"BUCKETSYNC_PAGE_SIZE": "4"}

    result = sync(f"s3://{source}", f"s3://{dest}", "--source-endpoint-url", moto_server.url,
                  "--dest-endpoint-url", moto_server.url, env=submitter, report_path=tmp_path / "r.json")

    assert result.returncode == 0, explain(result) + misconfigured_workers.log_text()
    assert result.report["copied"] == 10 and len(list_keys(s3, dest)) == 10
    run_id = result.report["run_id"]
    pages = run_cli_in_process("status", run_id, "--pages", "--json", env=submitter)
    listed = [page["listed"] for page in json.loads(pages.stdout)["pages"]]
    assert sum(listed) == 10 and max(listed) <= 4, pages.stdout  # pages of 4 (ranges may cut them shorter)
    stored = json.loads(redis.Redis.from_url(misconfigured_workers.broker_url).hget(run_key(run_id), "request"))
    assert stored["run_settings"]["source"]["endpoint_url"] == moto_server.url
    assert stored["run_settings"]["page_size"] == 4
    contents = redis_contents(misconfigured_workers.broker_url)
    assert not [item for item in contents if SECRET_KEY.encode() in item], "a secret key is in Redis"


def test_a_profile_or_a_password_in_an_endpoint_is_refused_before_the_run(moto_server, misconfigured_workers):
    env = misconfigured_workers.env
    profile = run_cli("sync", "s3://a", "s3://b", "--source-profile", "p", env=env)
    check_error_exit(profile, "--source-profile", "not sent to workers")
    password = run_cli("sync", "s3://a", "s3://b", "--source-endpoint-url", "http://u:secret@127.0.0.1:9", env=env)
    check_error_exit(password, "endpoint URL holds a password")
