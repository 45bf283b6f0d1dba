"""docker-compose.yml: valid against the Compose Specification's JSON schema, and what the try-out promises.

The schema is the compose-spec project's `schema/compose-spec.json` (Apache-2.0), as vendored by the
check-jsonschema package (`check_jsonschema/builtin_schemas/vendor/compose-spec.json`, its licence beside it
in `licenses/LICENSE.compose-spec`), pinned in requirements.lock.
"""
from __future__ import annotations

import importlib.resources
import json
import re
import shlex

import jsonschema
import pytest
import yaml

from .conftest import README_COMMANDS
from .kube_usage import ROOT

COMPOSE = ROOT / "docker-compose.yml"
PROCESSES = {"api": "api", "worker": "worker", "beat": "beat", "watcher": "watcher"}
SECRET_NAMES = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|PASS)$", re.I)


def compose_schema() -> dict:
    try:
        vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    except ModuleNotFoundError:
        pytest.fail("check-jsonschema is not installed (it ships the compose-spec schema): `make install`")
    return json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def test_the_schema_is_the_compose_specification():
    schema = compose_schema()
    assert schema["title"] == "Compose Specification" and "services" in schema["properties"]


def test_docker_compose_passes_the_compose_spec_schema(compose):
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(compose), key=lambda e: e.json_path)
    assert not errors, "\n".join(f"{e.json_path}: {e.message[:300]}" for e in errors)


def test_the_validation_is_not_vacuous(compose):
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    broken = json.loads(json.dumps(compose))
    broken["services"]["api"]["restart"] = ["always"]
    broken["services"]["worker"]["healthcheck"]["intervall"] = "30s"
    assert len(list(validator.iter_errors(broken))) >= 2


def test_services_run_the_real_commands_from_one_image(compose):
    services = compose["services"]
    images = {services[name]["image"] for name in PROCESSES.values()}
    assert len(images) == 1 and not images.pop().endswith(":latest")
    for process, name in PROCESSES.items():
        argv, want = services[name]["command"], shlex.split(README_COMMANDS[process])
        if process == "api":
            assert argv[0] == want[0] and argv[-1] == want[-1], argv
        else:
            assert argv[:len(want)] == want, argv


def test_every_service_has_a_healthcheck_and_a_restart_policy(compose):
    for name, service in compose["services"].items():
        assert service.get("restart") in ("always", "unless-stopped", "on-failure"), name
        test = service.get("healthcheck", {}).get("test")
        assert test and test[0] == "CMD", f"{name}: a healthcheck"
    assert "/healthz" in " ".join(compose["services"]["api"]["healthcheck"]["test"])
    for kind in ("worker", "beat", "watcher"):
        assert compose["services"][kind]["healthcheck"]["test"][1:] == ["python", "-m", "tasks.health", kind]
    for name in PROCESSES.values():
        assert compose["services"][name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_redis_persists_an_append_only_file_on_a_volume(compose):
    redis = compose["services"]["redis"]
    argv = redis["command"]
    assert argv[argv.index("--appendonly") + 1] == "yes"
    (volume,) = redis["volumes"]
    assert volume["type"] == "volume" and volume["target"] == "/data" and volume["source"] in compose["volumes"]
    assert "ports" not in redis, "Redis stays on the project's network"


def test_conf_and_kubeconfig_are_mounted_read_only(compose):
    for name in PROCESSES.values():
        service = compose["services"][name]
        mounts = {v["target"]: v for v in service["volumes"]}
        env = service["environment"]
        assert mounts[env["BRQ_CONF_DIR"]]["source"] == "./conf" and mounts[env["BRQ_CONF_DIR"]]["read_only"]
        kubeconfig = mounts[env["KUBECONFIG"]]
        assert kubeconfig["read_only"] and kubeconfig["source"].startswith("${BRQ_KUBECONFIG")
        assert env["BRQ_REDIS_URL"] == "redis://redis:6379/0"


def test_the_worker_stops_softly_within_its_grace_period(compose):
    worker = compose["services"]["worker"]
    argv = worker["command"]
    soft = float(dict(a.split("=", 1) for a in argv[argv.index("--") + 1:])["worker_soft_shutdown_timeout"])
    assert worker["environment"]["REMAP_SIGTERM"] == "SIGQUIT"
    assert int(worker["stop_grace_period"].rstrip("s")) > soft


def test_no_secret_is_written_in_the_file(compose):
    for name, service in compose["services"].items():
        for var, value in (service.get("environment") or {}).items():
            assert not SECRET_NAMES.search(var), f"{name}: {var} belongs in compose.env, not in the file"
            assert not re.search(r"://[^/@\s]*:[^/@\s]+@", str(value)), f"{name}: {var} carries a password"
        for env_file in service.get("env_file") or []:
            path = env_file["path"] if isinstance(env_file, dict) else env_file
            assert not (ROOT / path).exists() or (ROOT / path).name not in _tracked(), f"{path} must not be committed"


def _tracked() -> set[str]:
    import subprocess

    done = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    return {line.rsplit("/", 1)[-1] for line in done.stdout.splitlines()}
