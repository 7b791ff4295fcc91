"""Schedules from settings: parsed and checked before anything starts; a bad one is one line and exit 2."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bucketsync.core.messages import ScheduledJob
from celery.schedules import crontab, schedule

from conftest import run_cli, run_cli_in_process
from bucketsync.ops.schedules import beat_schedule, load_schedules, parse_timing

REPO = Path(__file__).resolve().parents[2]
GOOD = {"name": "nightly", "cron": "0 2 * * *", "source": "s3://src-bucket", "destination": "s3://dst-bucket"}


def env_with(*schedules: dict) -> dict[str, str]:
    return {"BUCKETSYNC_SCHEDULES": json.dumps(list(schedules))}


# ---------------------------------------------------------------- parsing (in process)

@pytest.mark.parametrize("expression, seconds", [("@every 3s", 3), ("@every 2m", 120), ("@every  1h", 3600)])
def test_every_is_an_interval_schedule(expression, seconds):
    timing = parse_timing(expression)
    assert isinstance(timing, schedule) and not isinstance(timing, crontab)
    assert timing.run_every == timedelta(seconds=seconds)


@pytest.mark.parametrize("expression", ["0 2 * * *", "*/15 * * * 1-5", "30 4 1 * *", "0 2 * * mon-fri", "@daily",
                                        "@hourly", "@weekly", "@monthly", "@yearly"])
def test_cron_expressions_and_aliases_parse(expression):
    assert isinstance(parse_timing(expression), crontab)


@pytest.mark.parametrize("expression, fragment", [
    ("61 * * * *", "minute '61'"),
    ("0 24 * * *", "hour '24'"),
    ("0 0 32 * *", "day of month '32'"),
    ("0 0 * 13 *", "month '13'"),
    ("0 0 * * someday", "day of week 'someday'"),
    ("0 0 31 2 *", "never occurs"),
    ("* * *", "expected 5 fields"),
    ("@nightly", "unknown alias"),
    ("@every 0s", "at least 1s"),
    ("@every 5 days", "with a unit s, m or h"),
])
def test_bad_cron_expressions_say_what_is_wrong(expression, fragment):
    with pytest.raises(ValueError, match=fragment):
        parse_timing(expression)


def test_next_run_of_a_cron_and_an_interval():
    now = datetime(2030, 1, 1, 12, 30, 5, tzinfo=timezone.utc)
    [nightly, often] = load_schedules(env_with(GOOD, {**GOOD, "name": "often", "cron": "@every 3s"}))
    assert nightly.next_run(now) == datetime(2030, 1, 2, 2, 0, tzinfo=timezone.utc)
    assert often.next_run(now) == datetime(2030, 1, 1, 12, 30, 8, tzinfo=timezone.utc)


def test_prefix_goes_on_both_sides_and_the_beat_entry_carries_the_job():
    [item] = load_schedules(env_with({**GOOD, "prefix": "logs/2030/", "delete": True}))
    job = item.job()
    assert (job.source, job.destination, job.delete) == ("s3://src-bucket/logs/2030/", "s3://dst-bucket/logs/2030/", True)
    entry = beat_schedule([item], "bucketsync.scheduled_run")["nightly"]
    assert entry["task"] == "bucketsync.scheduled_run" and entry["args"] == (job.to_json(),)
    assert isinstance(entry["schedule"], crontab)


def test_a_job_can_carry_storage_class_and_encryption_to_its_runs():
    [item] = load_schedules(env_with({**GOOD, "storage_class": "STANDARD_IA", "sse": "aws:kms",
                                      "sse_kms_key_id": "alias/replica"}))
    job = ScheduledJob.from_json(json.loads(json.dumps(item.job().to_json())))
    assert (job.storage_class, job.sse, job.sse_kms_key_id) == ("STANDARD_IA", "aws:kms", "alias/replica")


def test_a_job_can_carry_all_versions_to_its_runs():
    [item] = load_schedules(env_with({**GOOD, "all_versions": True}))
    job = item.job()
    assert job.all_versions is True
    assert ScheduledJob.from_json(json.loads(json.dumps(job.to_json()))).all_versions is True


@pytest.mark.parametrize("suffix, text", [
    (".toml", '[[schedules]]\nname = "nightly"\ncron = "0 2 * * *"\nsource = "s3://src-bucket"\n'
              'destination = "s3://dst-bucket"\n'),
    (".yaml", "schedules:\n  - name: nightly\n    cron: '0 2 * * *'\n    source: s3://src-bucket\n"
              "    destination: s3://dst-bucket\n"),
    (".yml", "- {name: nightly, cron: '0 2 * * *', source: 's3://src-bucket', destination: 's3://dst-bucket'}\n"),
    (".json", json.dumps([GOOD])),
])
def test_schedules_file_in_toml_yaml_or_json(tmp_path, suffix, text):
    path = tmp_path / f"schedules{suffix}"
    path.write_text(text)
    [item] = load_schedules({"BUCKETSYNC_SCHEDULES_FILE": str(path)})
    assert item.model_dump() == {**GOOD, "delete": False, "prefix": "", "filters": [], "all_versions": False,
                                 "lock_check_every": None, "storage_class": None, "sse": None, "sse_kms_key_id": None}


def test_the_committed_example_is_valid():
    items = load_schedules({"BUCKETSYNC_SCHEDULES_FILE": str(REPO / "schedules.example.yaml")})
    assert [item.name for item in items] == ["nightly-archive", "ledgers-hourly"]


def test_no_schedules_is_an_empty_list():
    assert load_schedules({}) == []


# ---------------------------------------------------------------- the commands (real subprocesses)

def check_one_line_error(done, *fragments: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("bucketsync: "), done.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


INVALID = [
    ("bad cron", env_with({**GOOD, "cron": "61 2 * * *"}), ("schedule 1 ('nightly')", "cron", "minute '61'")),
    ("bad source URL", env_with({**GOOD, "source": "https://src-bucket"}), ("source", "not an S3 URL")),
    ("bad bucket name", env_with({**GOOD, "destination": "s3://Not_A_Bucket"}), ("destination", "invalid bucket")),
    ("not JSON", {"BUCKETSYNC_SCHEDULES": "[{name: nightly}"}, ("BUCKETSYNC_SCHEDULES is not valid JSON",)),
    ("unknown key", env_with({**GOOD, "every": 3}), ("every", "Extra inputs")),
    ("bad sse", env_with({**GOOD, "sse": "AES128"}), ("schedule 1 ('nightly')", "--sse must be AES256 or aws:kms")),
    ("kms key without kms", env_with({**GOOD, "sse": "AES256", "sse_kms_key_id": "k"}), ("needs --sse aws:kms",)),
    ("bad storage class", env_with({**GOOD, "storage_class": "COLD"}), ("COLD",)),
    ("duplicate names", env_with(GOOD, GOOD), ("unique", "nightly")),
    ("both sources", {**env_with(GOOD), "BUCKETSYNC_SCHEDULES_FILE": "/nonexistent.yaml"}, ("not both",)),
    ("missing file", {"BUCKETSYNC_SCHEDULES_FILE": "/nonexistent/schedules.toml"}, ("cannot read",)),
]


@pytest.mark.parametrize("case, env, fragments", INVALID, ids=[case for case, _, _ in INVALID])
def test_schedules_command_refuses_invalid_settings(case, env, fragments):
    check_one_line_error(run_cli_in_process("schedules", env=env), *fragments)  # as a process: the TOML test below


def test_invalid_toml_file_is_one_line(tmp_path):
    path = tmp_path / "schedules.toml"
    path.write_text('[[schedules]]\nname = "nightly\ncron = "0 2 * * *"\n')
    check_one_line_error(run_cli("schedules", env={"BUCKETSYNC_SCHEDULES_FILE": str(path)}), "not valid TOML")


def test_beat_refuses_invalid_settings_before_starting(secured_redis):
    env = {**env_with({**GOOD, "cron": "0 2 * * * *"}), "BUCKETSYNC_BROKER_URL": secured_redis}
    check_one_line_error(run_cli("beat", env=env, timeout=60), "expected 5 fields")
    check_one_line_error(run_cli("beat", env={"BUCKETSYNC_BROKER_URL": secured_redis}, timeout=60), "no schedules")


def test_schedules_command_lists_jobs_with_their_next_run():
    env = env_with(GOOD, {**GOOD, "name": "often", "cron": "@every 30s", "prefix": "a/"})
    done = run_cli_in_process("schedules", "--json", env=env)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [item["name"] for item in listed] == ["nightly", "often"]
    nightly_next = datetime.fromisoformat(listed[0]["next_run"])
    assert (nightly_next.hour, nightly_next.minute) == (2, 0)
    assert nightly_next - datetime.now(timezone.utc) <= timedelta(days=1)
    assert listed[1]["source"] == "s3://src-bucket/a/"
    text = run_cli_in_process("schedules", env=env)
    assert text.returncode == 0 and "nightly" in text.stdout and "0 2 * * *" in text.stdout
