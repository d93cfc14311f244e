"""Static checks of docker-compose.yml and the Dockerfile; no Docker engine is needed.

The compose file is validated against the Compose Specification's JSON schema, which the
check-jsonschema package ships as vendor.compose-spec. The schema checks types and key
names but not references between services, interpolation or merged anchors, so the tests
below check those parts of the stack by hand.
"""

import json
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import REPO_ROOT, SERVICES, require_module, run

COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DOCKERFILE = REPO_ROOT / "Dockerfile"

require_module("check_jsonschema", "check-jsonschema")


def _compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _seconds(duration: str) -> float:
    """Convert a Compose duration such as "1m30s" to seconds."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "us": 0.000001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", duration)
    assert parts and "".join(f"{n}{u}" for n, u in parts) == duration, duration
    return sum(float(number) * units[unit] for number, unit in parts)


def _console_scripts() -> set[str]:
    scripts: set[str] = set()
    for pyproject in REPO_ROOT.glob("services/*/pyproject.toml"):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        scripts.update(project.get("scripts", {}))
    return scripts


def _validate_with_schema(path: Path) -> None:
    schema = ["--builtin-schema", "vendor.compose-spec"]
    run([sys.executable, "-m", "check_jsonschema", *schema, str(path)])


def test_compose_file_matches_compose_specification() -> None:
    _validate_with_schema(COMPOSE_FILE)


def test_schema_check_rejects_unknown_key(tmp_path: Path) -> None:
    broken = _compose()
    broken["services"]["gateway"]["helthcheck"] = broken["services"]["gateway"].pop("healthcheck")
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(broken))
    with pytest.raises(pytest.fail.Exception, match="helthcheck"):
        _validate_with_schema(path)


def test_every_service_runs_its_console_script() -> None:
    services = _compose()["services"]
    scripts = _console_scripts()
    for service, (script, _) in SERVICES.items():
        assert services[service]["command"] == [script], service
        assert script in scripts, f"{script} is not a [project.scripts] entry"
        assert services[service]["build"] == {"context": "."}, service


def test_services_publish_usual_ports() -> None:
    services = _compose()["services"]
    for service, (_, port) in SERVICES.items():
        assert services[service]["ports"] == [f"127.0.0.1:{port}:8080"], service
        assert services[service]["environment"]["MGA_HTTP_PORT"] == "8080", service


def test_all_published_ports_are_on_loopback() -> None:
    for name, service in _compose()["services"].items():
        for port in service.get("ports", []):
            assert isinstance(port, str) and port.startswith("127.0.0.1:"), f"{name}: {port}"


def test_healthchecks_call_readyz_with_python() -> None:
    services = _compose()["services"]
    for service in SERVICES:
        test = services[service]["healthcheck"]["test"]
        assert test[:3] == ["CMD", "python", "-c"], service
        assert "http://127.0.0.1:8080/readyz" in test[3], service
        compile(test[3], f"{service} healthcheck", "exec")


def test_containers_have_healthcheck_and_restart() -> None:
    for name, service in _compose()["services"].items():
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] == "CMD", name


def test_services_have_time_for_graceful_shutdown() -> None:
    services = _compose()["services"]
    for service in SERVICES:
        assert _seconds(services[service]["stop_grace_period"]) >= 30, service


def test_depends_on_waits_for_healthy_services() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on the unknown {dependency}"
            assert condition == {"condition": "service_healthy"}, f"{name} -> {dependency}"
            assert "healthcheck" in services[dependency], dependency
    for service in SERVICES:
        assert {"rabbitmq", "mongodb"} <= services[service]["depends_on"].keys(), service
    assert "mailpit" in services["mailer"]["depends_on"]


def test_volumes_declared_and_mounts_exist() -> None:
    compose = _compose()
    declared = set(compose["volumes"])
    used = set()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name} mounts the missing {source}"
            else:
                assert source in declared, f"{name} uses the undeclared volume {source}"
                used.add(source)
    assert used == declared


def test_images_are_pinned() -> None:
    expected = {
        "rabbitmq": "rabbitmq:3.13-management",
        "mongodb": "mongo:7",
    }
    for name, service in _compose()["services"].items():
        if "image" not in service:
            continue
        image = service["image"]
        _, _, tag = image.rpartition(":")
        assert ":" in image, f"{name} uses the unpinned {image}"
        assert tag != "latest", f"{name} uses the unpinned {image}"
        if name in expected:
            assert image == expected[name]


def test_rabbitmq_enables_prometheus_plugin() -> None:
    compose = _compose()
    [config] = compose["services"]["rabbitmq"]["configs"]
    assert config["target"] == "/etc/rabbitmq/enabled_plugins"
    content = compose["configs"][config["source"]]["content"]
    assert "rabbitmq_prometheus" in content
    assert "rabbitmq_management" in content
    assert content.strip().endswith("].")


def test_service_environment() -> None:
    services = _compose()["services"]
    for service in SERVICES:
        environment = services[service]["environment"]
        assert environment["MGA_HTTP_HOST"] == "0.0.0.0", service
        assert environment["LITELLM_LOCAL_MODEL_COST_MAP"] == "True", service
        assert environment["MGA_ENVIRONMENT"] == "development", service
        assert environment["MGA_AMQP_URL"].startswith("amqp://guest:guest@rabbitmq:5672/")
        assert environment["MGA_MONGODB_URL"] == "mongodb://mongodb:27017"
        allowed = environment.get("MGA_WEBHOOK_ALLOW_PRIVATE_TARGETS")
        assert allowed == ("true" if service == "webhook-dispatcher" else None), service


def test_candidate_links_use_simulation_port() -> None:
    services = _compose()["services"]
    [published] = services["simulation"]["ports"]
    host_port = published.split(":")[1]
    for service in ("invitation", "simulation"):
        base_url = services[service]["environment"]["MGA_PUBLIC_BASE_URL"]
        assert base_url == f"http://127.0.0.1:{host_port}", service


def test_mailer_sends_to_mailpit() -> None:
    environment = _compose()["services"]["mailer"]["environment"]
    assert environment["MGA_SMTP_HOST"] == "mailpit"
    assert environment["MGA_SMTP_PORT"] == "1025"


def test_prometheus_mounts_config_and_rules() -> None:
    prometheus = _compose()["services"]["prometheus"]
    mounts = dict(volume.split(":")[:2] for volume in prometheus["volumes"])
    assert mounts["./deploy/prometheus/prometheus-compose.yml"] == "/etc/prometheus/prometheus.yml"
    assert mounts["./deploy/prometheus/alerts.yml"] == "/etc/prometheus/alerts.yml"
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]


def test_grafana_admin_password_from_env() -> None:
    environment = _compose()["services"]["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == "${GRAFANA_ADMIN_PASSWORD:-admin}"
    assert environment["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer"


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """Return (instruction, arguments) pairs of the Dockerfile, continuation lines joined."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    joined = re.sub(r"\\\n", " ", text)
    instructions = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, arguments = line.partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _final_stage() -> list[tuple[str, str]]:
    instructions = _dockerfile_instructions()
    last_from = max(i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def test_dockerfile_runs_as_numeric_non_root_user() -> None:
    [user] = [arguments for keyword, arguments in _final_stage() if keyword == "USER"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), user
    assert int(uid) != 0, user
    assert gid.isdigit(), user
    assert int(gid) != 0, user


def test_dockerfile_health_check_calls_readyz() -> None:
    [healthcheck] = [arguments for keyword, arguments in _final_stage() if keyword == "HEALTHCHECK"]
    command = json.loads(healthcheck[healthcheck.index("CMD") + len("CMD") :])
    assert command[:2] == ["python", "-c"]
    assert "/readyz" in command[2]
    compile(command[2], "Dockerfile HEALTHCHECK", "exec")


def test_dockerfile_cmd_is_console_script() -> None:
    [cmd] = [arguments for keyword, arguments in _final_stage() if keyword == "CMD"]
    assert json.loads(cmd)[0] in _console_scripts()
    assert ("EXPOSE", "8080") in _final_stage()
