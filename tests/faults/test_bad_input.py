"""Bad input: each exits 2 with exactly one line on stderr (`bucketsync: …`), no traceback, nothing on
stdout, nothing written. Only what tests/integration/test_cli_errors.py and tests/ops do not cover.

The commands are real subprocesses, started together by a module fixture (each costs ~0.5 s of
interpreter start); every case is then checked on its own. Each `sync` case has a destination bucket
of its own, checked empty afterwards.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import pytest

from conftest import free_port, run_cli, unique_bucket
from tests.integration.helpers import check_error_exit, cli_env, list_keys

SRC = "{src}"  # placeholders, filled in by the fixture
DST = "{dst}"


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    fragments: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    s3_env: bool = True  # give the command the moto server's endpoint and keys


CASES = [
    # Malformed S3 URLs (test_cli_errors covers http://, s3://, Bad_Bucket, too short)
    Case("url-one-slash", ("sync", "s3:/bucket-a", DST), ("not an S3 URL",)),
    Case("url-uppercase", ("sync", "s3://BUCKET-A", DST), ("invalid bucket name 'BUCKET-A'",)),
    Case("url-ip-address", ("sync", "s3://192.168.1.1/x", DST), ("invalid bucket name '192.168.1.1'",)),
    Case("url-newline", ("sync", "s3://bucket-a\n", DST), ("invalid bucket name",)),
    Case("verify-url", ("verify", "s3://", DST), ("no bucket name",)),
    # The same bucket on both sides (test_cli_errors covers data -> data/copy)
    Case("same-bucket-root", ("sync", SRC, SRC), ("overlap",)),
    Case("root-and-prefix", ("sync", SRC, SRC + "/copy"), ("overlap",)),
    Case("same-prefix", ("sync", SRC + "/a", SRC + "/a/"), ("overlap",)),
    # Profiles and endpoints
    Case("verify-unknown-profile", ("verify", SRC, DST, "--dest-profile", "no-such-profile"), ("no-such-profile",)),
    Case("endpoint-bad-ipv6", ("sync", SRC, DST, "--source-endpoint-url", "http://[::1"), ("source.endpoint_url",)),
    Case("endpoint-unresolvable", ("sync", SRC, DST, "--source-endpoint-url", "http://no-such-host.invalid:9000"),
         ("cannot reach the source endpoint",), {"BUCKETSYNC_MAX_ATTEMPTS": "1", "BUCKETSYNC_CONNECT_TIMEOUT": "2"}),
    Case("verify-unreachable", ("verify", SRC, DST, "--dest-endpoint-url", "http://127.0.0.1:{closed}"),
         ("cannot reach the destination endpoint",), {"BUCKETSYNC_MAX_ATTEMPTS": "1", "BUCKETSYNC_CONNECT_TIMEOUT": "2"}),
    Case("verify-missing-bucket", ("verify", SRC, "s3://no-such-verify-bucket"), ("'no-such-verify-bucket' does not exist",)),
    # Negative or absurd sizes
    Case("concurrency-negative", ("sync", SRC, DST, "--concurrency", "-1"), ("concurrency",)),
    Case("concurrency-absurd", ("sync", SRC, DST, "--concurrency", "100000"), ("concurrency",)),
    Case("batch-size-zero", ("sync", SRC, DST), ("batch_size",), {"BUCKETSYNC_BATCH_SIZE": "0"}),
    Case("batch-size-absurd", ("sync", SRC, DST), ("batch_size",), {"BUCKETSYNC_BATCH_SIZE": "100000"}),
    Case("batch-bytes-absurd", ("sync", SRC, DST), ("batch_max_bytes",), {"BUCKETSYNC_BATCH_MAX_BYTES": str(10**30)}),
    Case("attempts-absurd", ("sync", SRC, DST), ("max_attempts",), {"BUCKETSYNC_MAX_ATTEMPTS": "1000"}),
    # A broker that is not Redis
    Case("broker-option-amqp", ("sync", SRC, DST, "--broker-url", "amqp://guest@localhost//"), ("broker_url", "redis://")),
    Case("broker-env-amqp-status", ("status", "0123456789abcdef"), ("broker_url",),
         {"BUCKETSYNC_BROKER_URL": "amqp://guest@localhost//"}),
    Case("broker-env-amqp-worker", ("worker",), ("broker_url",), {"BUCKETSYNC_BROKER_URL": "sqs://"}, s3_env=False),
    # Schedule files that do not parse (test_schedule_settings covers TOML with `schedules`)
    Case("schedules-yaml", ("schedules",), ("not valid YAML",), {"BUCKETSYNC_SCHEDULES_FILE": "{tmp}/bad.yaml"}, False),
    Case("schedules-json", ("schedules",), ("not valid JSON",), {"BUCKETSYNC_SCHEDULES_FILE": "{tmp}/bad.json"}, False),
    Case("beat-toml", ("beat",), ("not valid TOML",),
         {"BUCKETSYNC_SCHEDULES_FILE": "{tmp}/bad.toml", "BUCKETSYNC_BROKER_URL": "redis://127.0.0.1:{closed}/0"}, False),
    # Unknown BUCKETSYNC_* variables: refused, named, with the likely intended one
    Case("env-typo", ("sync", SRC, DST), ("unknown environment variable BUCKETSYNC_CONCURENCY",
                                          "did you mean BUCKETSYNC_CONCURRENCY?"), {"BUCKETSYNC_CONCURENCY": "4"}),
    Case("env-typo-side", ("sync", SRC, DST), ("BUCKETSYNC_SRC__ENDPOINT_URL", "did you mean BUCKETSYNC_SOURCE__ENDPOINT_URL?"),
         {"BUCKETSYNC_SRC__ENDPOINT_URL": "http://127.0.0.1:9"}),
    Case("env-typo-lowercase", ("sync", SRC, DST), ("bucketsync_batchsize",), {"bucketsync_batchsize": "10"}),
    Case("env-typo-worker", ("worker",), ("BUCKETSYNC_VISIBILITY_TIMEOUT_SECONDS",),
         {"BUCKETSYNC_BROKER_URL": "redis://127.0.0.1:{closed}/0", "BUCKETSYNC_VISIBILITY_TIMEOUT_SECONDS": "60"}, False),
    Case("env-typo-verify", ("verify", SRC, DST), ("BUCKETSYNC_DEST_ENDPOINT_URL",), {"BUCKETSYNC_DEST_ENDPOINT_URL": "x"}),
]


def fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


@pytest.fixture(scope="module")
def outcomes(moto_server, tmp_path_factory):
    """Run every case at once; returns id -> (result, destination bucket or None)."""
    client = moto_server.client()
    source = unique_bucket("bsrc")
    client.create_bucket(Bucket=source)
    client.put_object(Bucket=source, Key="a/k", Body=b"x")
    client.put_object(Bucket=source, Key="k", Body=b"x")
    tmp = tmp_path_factory.mktemp("bad-input")
    (tmp / "bad.yaml").write_text("schedules: [ {name: nightly, cron: '0 2 * * *'\n")
    (tmp / "bad.json").write_text('[{"name": "nightly",]')
    (tmp / "bad.toml").write_text("[[schedules]\nname = 'nightly'\n")
    closed = str(free_port())

    def one(case: Case):
        dest = unique_bucket("bdst")
        client.create_bucket(Bucket=dest)
        values = {"src": f"s3://{source}", "dst": f"s3://{dest}", "tmp": str(tmp), "closed": closed}
        env = (cli_env(moto_server) if case.s3_env else {}) | {name: fill(value, values) for name, value in case.env.items()}
        args = [fill(arg, values) for arg in case.args]
        return run_cli(*args, env=env, timeout=60), dest

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = dict(zip((case.id for case in CASES), pool.map(one, CASES)))
    return results, client


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_exits_2_with_one_line(outcomes, case):
    results, client = outcomes
    result, dest = results[case.id]
    check_error_exit(result, *case.fragments)
    assert "internal error" not in result.stderr
    assert list_keys(client, dest) == {}
