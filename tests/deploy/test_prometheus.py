"""Checks of the Prometheus configurations and alert rules in deploy/prometheus."""

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import (
    COUNTER_FUNCTIONS,
    GAUGE_FUNCTIONS,
    OPERATIONS_DOC,
    PROMETHEUS_DIR,
    SERVICES,
    defined_metrics,
    exposed_series,
    function_arguments,
    install_tool,
    markdown_anchors,
    run,
    selector_names,
)

LOCAL_CONFIG = PROMETHEUS_DIR / "prometheus.yml"
COMPOSE_CONFIG = PROMETHEUS_DIR / "prometheus-compose.yml"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERT_TESTS = Path(__file__).with_name("alerts_test.yml")

EXPECTED_ALERTS = {
    "ServiceDown",
    "GatewayHighServerErrorRate",
    "DeadLetterQueueNotEmpty",
    "ConsumerBacklogGrowing",
    "OutboxEventsStuck",
    "WebhookFailureRateHigh",
    "LLMErrorRateHigh",
    "EmailFailureRateHigh",
}


@pytest.fixture(scope="module")
def promtool() -> Path:
    return install_tool(PROMETHEUS_DIR / "install-promtool.sh")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _rules() -> list[dict[str, Any]]:
    return [rule for group in _load(ALERTS)["groups"] for rule in group["rules"]]


def _jobs(config_path: Path) -> dict[str, dict[str, Any]]:
    return {job["job_name"]: job for job in _load(config_path)["scrape_configs"]}


@pytest.mark.parametrize("config", [LOCAL_CONFIG, COMPOSE_CONFIG], ids=lambda path: path.name)
def test_promtool_check_config(promtool: Path, config: Path) -> None:
    output = run([str(promtool), "check", "config", str(config)])
    assert "SUCCESS" in output


def test_promtool_check_rules(promtool: Path) -> None:
    output = run([str(promtool), "check", "rules", str(ALERTS)])
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in output


def test_promtool_alert_unit_tests(promtool: Path) -> None:
    output = run([str(promtool), "test", "rules", ALERT_TESTS.name], cwd=ALERT_TESTS.parent)
    assert "SUCCESS" in output


def test_local_config_scrapes_services_on_loopback() -> None:
    jobs = _jobs(LOCAL_CONFIG)
    for service, (_, port) in SERVICES.items():
        job = jobs[service]
        [target_group] = job["static_configs"]
        assert target_group["targets"] == [f"127.0.0.1:{port}"], service
        assert target_group["labels"] == {"service": service}
        assert job["honor_labels"] is True, service


def test_default_ports_match_service_settings() -> None:
    settings_classes = {
        "gateway": ("mga_gateway.settings", "GatewaySettings"),
        "invitation": ("mga_invitation.settings", "InvitationSettings"),
        "mailer": ("mga_mailer.settings", "MailerSettings"),
        "simulation": ("mga_simulation.settings", "SimulationSettings"),
        "scoring": ("mga_scoring.settings", "ScoringSettings"),
        "webhook-dispatcher": ("mga_webhook_dispatcher.settings", "WebhookDispatcherSettings"),
    }
    for service, (module_name, class_name) in settings_classes.items():
        module = importlib.import_module(module_name)
        default_port = getattr(module, class_name).model_fields["http_port"].default
        assert default_port == SERVICES[service][1], service


def test_compose_config_differs_only_in_targets() -> None:
    local = _load(LOCAL_CONFIG)
    compose = _load(COMPOSE_CONFIG)
    for config in (local, compose):
        for job in config["scrape_configs"]:
            for target_group in job["static_configs"]:
                target_group["targets"] = ["<target>"]
    assert local == compose


def test_compose_config_scrapes_compose_services() -> None:
    jobs = _jobs(COMPOSE_CONFIG)
    for service in SERVICES:
        [target_group] = jobs[service]["static_configs"]
        assert target_group["targets"] == [f"{service}:8080"], service
    [rabbitmq_group] = jobs["rabbitmq"]["static_configs"]
    assert rabbitmq_group["targets"] == ["rabbitmq:15692"]


@pytest.mark.parametrize("config", [LOCAL_CONFIG, COMPOSE_CONFIG], ids=lambda path: path.name)
def test_rabbitmq_job_scrapes_per_object_metrics(config: Path) -> None:
    rabbitmq = _jobs(config)["rabbitmq"]
    assert rabbitmq["metrics_path"] == "/metrics/per-object"


@pytest.mark.parametrize("config", [LOCAL_CONFIG, COMPOSE_CONFIG], ids=lambda path: path.name)
def test_config_loads_alert_rules(config: Path) -> None:
    rule_files = _load(config)["rule_files"]
    assert [(config.parent / name).resolve() for name in rule_files] == [ALERTS.resolve()]


def test_expected_alerts_exist() -> None:
    assert {rule["alert"] for rule in _rules()} == EXPECTED_ALERTS


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_alert_has_severity_and_annotations(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"critical", "warning"}
    for annotation in ("summary", "description", "runbook_url"):
        assert rule["annotations"].get(annotation, "").strip(), annotation


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_runbook_url_has_doc_anchor(rule: dict[str, Any]) -> None:
    path, _, anchor = rule["annotations"]["runbook_url"].partition("#")
    assert path == "docs/operations.md"
    assert anchor == rule["alert"].lower()
    assert anchor in markdown_anchors(OPERATIONS_DOC), (
        f"docs/operations.md has no heading with the anchor #{anchor}"
    )


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_alert_names_only_defined_metrics(rule: dict[str, Any]) -> None:
    series = exposed_series(defined_metrics())
    unknown = selector_names(rule["expr"]) - series.keys()
    assert not unknown, f"{rule['alert']} names metrics that no code defines: {sorted(unknown)}"


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_alert_functions_match_metric_types(rule: dict[str, Any]) -> None:
    series = exposed_series(defined_metrics())
    for function, metric in function_arguments(rule["expr"]):
        if function in COUNTER_FUNCTIONS:
            assert series[metric] == "counter", f"{function}() of the gauge {metric}"
        if function in GAUGE_FUNCTIONS:
            assert series[metric] == "gauge", f"{function}() of the counter {metric}"
