"""compose.yaml, the Dockerfile and the env example, checked by parsing them (no Docker engine runs on
the test machines; the services' commands themselves run for real in the other tests of this folder)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bucketsync.distributed.celery_app import configure, create_app
from bucketsync.core.settings import load_settings

REPO = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} substitution, enough for these files."""
    def one(match: re.Match) -> str:
        name, rest = match.group(1), match.group(0)[len(match.group(1)) + 2:-1]
        if name in env:
            return env[name]
        if rest.startswith((":-", "-")):
            return rest.split("-", 1)[1]
        raise KeyError(f"{name} is required: {rest}")
    return VARIABLE.sub(one, value)


def test_the_five_services(compose):
    assert set(compose["services"]) == {"redis", "worker", "beat", "flower", "exporter"}


def test_redis_needs_a_password_keeps_an_aof_never_evicts_and_is_not_published(compose):
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2]))
    assert VARIABLE.fullmatch(options["--requirepass"]).group(1) == "REDIS_PASSWORD"
    assert ":?" in options["--requirepass"]  # compose refuses to start without a password
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "noeviction"
    assert "ports" not in redis and redis.get("network_mode") != "host"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_workers_scale_and_send_task_events(compose):
    worker = compose["services"]["worker"]
    assert worker["command"][:2] == ["bucketsync", "worker"]  # `bucketsync worker` always passes -E
    assert "container_name" not in worker and "ports" not in worker  # both would stop --scale worker=N
    assert worker["env_file"] == ".env"
    conf = configure(create_app(), load_settings(broker_url="redis://127.0.0.1:6379/0")).conf
    assert conf.worker_send_task_events and conf.task_send_sent_event


def test_exactly_one_beat_without_s3_credentials(compose):
    beat = compose["services"]["beat"]
    assert beat["command"][:2] == ["bucketsync", "beat"]
    assert beat["deploy"]["replicas"] == 1 and "container_name" not in beat
    assert "env_file" not in beat  # beat sends triggers; the workers hold the S3 credentials
    schedules = beat["environment"]["BUCKETSYNC_SCHEDULES_FILE"]
    assert any(mount["target"] == schedules and mount["read_only"] for mount in beat["volumes"])


def test_flower_is_read_only_behind_basic_auth_and_on_localhost(compose):
    flower = compose["services"]["flower"]
    command = flower["command"]
    assert command[:4] == ["celery", "-A", "bucketsync.tasks", "flower"]
    assert "--read-only" in command
    assert not any(arg.startswith("--basic-auth") for arg in command)  # never a password on a command line
    assert VARIABLE.fullmatch(flower["environment"]["FLOWER_BASIC_AUTH"]).group(1) == "FLOWER_BASIC_AUTH"
    assert "env_file" not in flower
    assert flower["ports"] and all(port.startswith("127.0.0.1:") for port in flower["ports"])


def test_the_exporter_is_on_the_compose_network_and_localhost_only_without_s3_credentials(compose):
    exporter = compose["services"]["exporter"]
    assert exporter["command"][:2] == ["bucketsync", "exporter"]
    assert "env_file" not in exporter  # it reads Redis only
    assert exporter["ports"] and all(port.startswith("127.0.0.1:") for port in exporter["ports"])
    assert all(interpolate(port, {}).endswith(":9808") for port in exporter["ports"])


def test_every_service_gets_the_broker_with_the_password_from_the_env_file(compose):
    for name in ("worker", "beat", "flower", "exporter"):
        service = compose["services"][name]
        assert service["image"] == "bucketsync:local" and service["build"] == "."
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        url = interpolate(service["environment"]["BUCKETSYNC_BROKER_URL"], {"REDIS_PASSWORD": "pw0123"})
        assert url == "redis://:pw0123@redis:6379/0"
        assert load_settings(broker_url=url).broker_url == url


def test_the_env_example_documents_every_variable_and_holds_valid_settings(compose, monkeypatch):
    example = (REPO / "bucketsync.env.example").read_text()
    documented = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))
    used = set(VARIABLE.findall((REPO / "compose.yaml").read_text()))
    assert used <= documented, used - documented
    for line in example.splitlines():
        if line.startswith("BUCKETSYNC_"):
            name, value = line.split("=", 1)
            monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.source.secret_access_key and settings.dest.endpoint_url


def test_secrets_stay_out_of_git_and_out_of_the_image():
    gitignore = [line.strip() for line in (REPO / ".gitignore").read_text().splitlines()]
    assert ".env" in gitignore, ".env must be git-ignored"
    dockerignore = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                    if line.strip() and not line.startswith("#")]
    assert dockerignore[0] == "*" and "!.env" not in dockerignore  # a whitelist that never lets .env in
    dockerfile = (REPO / "Dockerfile").read_text()
    assert "pip install '.[ops]'" in dockerfile  # flower comes with the ops extra
    assert re.search(r"^USER (?!root)", dockerfile, flags=re.MULTILINE)
