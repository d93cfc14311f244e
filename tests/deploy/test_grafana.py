"""Checks of the Grafana provisioning files and the dashboard in deploy/grafana."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.tools import (
    COUNTER_FUNCTIONS,
    GAUGE_FUNCTIONS,
    GRAFANA_DIR,
    PROMETHEUS_DIR,
    REPO_ROOT,
    defined_metrics,
    exposed_series,
    function_arguments,
    install_tool,
    run,
    selector_names,
    substitute_grafana_variables,
)

DASHBOARD = GRAFANA_DIR / "dashboards" / "candidate-journey.json"
DATASOURCES = GRAFANA_DIR / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA_DIR / "provisioning" / "dashboards" / "meetandgreet.yml"

# Metrics that the dashboard must chart, one or more per stage of the candidate journey.
REQUIRED_METRICS = {
    "mga_invitations_created_total",
    "mga_emails_total",
    "mga_interviews_running",
    "mga_results_scored_total",
    "mga_event_processing_duration_seconds_bucket",
    "mga_webhook_deliveries_total",
    "mga_webhook_delivery_duration_seconds_bucket",
    "mga_http_requests_total",
    "mga_http_request_duration_seconds_bucket",
    "mga_llm_calls_total",
    "mga_llm_cost_usd_total",
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages",
}


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every panel, including those inside collapsed rows."""
    panels = []
    for panel in dashboard["panels"]:
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def _expressions() -> list[tuple[str, str]]:
    """Return (panel title, PromQL with Grafana's variables replaced) for every query."""
    found = []
    for panel in _panels(_dashboard()):
        for target in panel.get("targets", []):
            found.append((panel["title"], substitute_grafana_variables(target["expr"])))
    return found


EXPRESSIONS = _expressions()
EXPRESSION_IDS = [f"{title} #{number}" for number, (title, _) in enumerate(EXPRESSIONS)]


def test_dashboard_identity() -> None:
    dashboard = _dashboard()
    assert dashboard["title"] == "MeetAndGreet — candidate journey"
    assert dashboard["uid"] == "mga-candidate-journey"
    assert "id" not in dashboard or dashboard["id"] is None


def test_panel_ids_are_unique() -> None:
    ids = [panel["id"] for panel in _panels(_dashboard())]
    assert len(ids) == len(set(ids))


def test_panels_do_not_overlap() -> None:
    occupied: dict[tuple[int, int], str] = {}
    for panel in _panels(_dashboard()):
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for y in range(grid["y"], grid["y"] + grid["h"]):
            for x in range(grid["x"], grid["x"] + grid["w"]):
                assert (x, y) not in occupied, f"{panel['title']} overlaps {occupied[(x, y)]}"
                occupied[(x, y)] = panel["title"]


def test_queries_use_datasource_variable() -> None:
    dashboard = _dashboard()
    [variable] = [v for v in dashboard["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == "prometheus"
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${" + variable["name"] + "}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == panel["datasource"], panel["title"]


@pytest.mark.parametrize(("title", "expr"), EXPRESSIONS, ids=EXPRESSION_IDS)
def test_query_names_only_defined_metrics(title: str, expr: str) -> None:
    series = exposed_series(defined_metrics())
    unknown = selector_names(expr) - series.keys()
    assert not unknown, f"panel {title!r} names metrics that no code defines: {sorted(unknown)}"


@pytest.mark.parametrize(("title", "expr"), EXPRESSIONS, ids=EXPRESSION_IDS)
def test_query_functions_match_metric_types(title: str, expr: str) -> None:
    series = exposed_series(defined_metrics())
    for function, metric in function_arguments(expr):
        if function in COUNTER_FUNCTIONS:
            assert series[metric] == "counter", f"{title}: {function}() of the gauge {metric}"
        if function in GAUGE_FUNCTIONS:
            assert series[metric] == "gauge", f"{title}: {function}() of the counter {metric}"


def test_dashboard_covers_candidate_journey() -> None:
    used = set().union(*(selector_names(expr) for _, expr in EXPRESSIONS))
    missing = REQUIRED_METRICS - used
    assert not missing, f"no panel charts {sorted(missing)}"


def test_queries_pass_promtool(tmp_path: Path) -> None:
    """Check every query with Prometheus's own parser, as recording rules of a scratch file."""
    promtool = install_tool(PROMETHEUS_DIR / "install-promtool.sh")
    rules = [
        {"record": f"dashboard:query_{number}", "expr": expr}
        for number, (_, expr) in enumerate(EXPRESSIONS)
    ]
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    output = run([str(promtool), "check", "rules", str(rule_file)])
    assert f"SUCCESS: {len(rules)} rules found" in output


def test_datasource_provisioning() -> None:
    provisioning = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))
    assert provisioning["apiVersion"] == 1
    [datasource] = provisioning["datasources"]
    assert datasource["type"] == "prometheus"
    assert datasource["uid"] == "prometheus"
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["isDefault"] is True


def test_provider_path_mounted_by_compose() -> None:
    provisioning = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))
    assert provisioning["apiVersion"] == 1
    [provider] = provisioning["providers"]
    assert provider["type"] == "file"
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    mounts = dict(
        volume.rsplit(":", 1)[0].split(":", 1)
        for volume in compose["services"]["grafana"]["volumes"]
        if volume.startswith("./")
    )
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
