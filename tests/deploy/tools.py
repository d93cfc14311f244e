"""Paths, external tools and PromQL helpers shared by the deployment tests.

The tests check the files under deploy/, docker-compose.yml and the Dockerfile without a
network, a Docker engine or a cluster. External checkers come from the project's dev
dependencies or from the install scripts next to the files they check.
"""

import ast
import functools
import importlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
PROMETHEUS_DIR = DEPLOY / "prometheus"
GRAFANA_DIR = DEPLOY / "grafana"
K8S_DIR = DEPLOY / "k8s"
OPERATIONS_DOC = REPO_ROOT / "docs" / "operations.md"

# Each service, its console script and its default HTTP port (MGA_HTTP_PORT).
SERVICES = {
    "gateway": ("mga-gateway", 8080),
    "invitation": ("mga-invitation", 8081),
    "mailer": ("mga-mailer", 8082),
    "simulation": ("mga-simulation", 8083),
    "scoring": ("mga-scoring", 8084),
    "webhook-dispatcher": ("mga-webhook-dispatcher", 8085),
}

# Queue metrics of RabbitMQ's rabbitmq_prometheus plugin that the alerts and the dashboard may
# use, all gauges. Source: deps/rabbitmq_prometheus/metrics.md in the rabbitmq-server
# repository. Per-object scrapes label them with vhost and queue.
RABBITMQ_QUEUE_GAUGES = frozenset(
    {
        "rabbitmq_queue_messages",
        "rabbitmq_queue_messages_ready",
        "rabbitmq_queue_messages_unacked",
        "rabbitmq_queue_consumers",
        "rabbitmq_queue_consumer_utilisation",
    }
)

# Series that Prometheus itself writes for every target.
PROMETHEUS_GAUGES = frozenset({"up"})

# Values for Grafana's built-in variables, so that panel expressions parse as PromQL.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__range": "6h", "$__interval": "30s"}

# Functions that need a counter (or a histogram's _bucket, _count and _sum series), and
# functions that are meaningful on gauges only.
COUNTER_FUNCTIONS = frozenset({"rate", "irate", "increase"})
GAUGE_FUNCTIONS = frozenset({"deriv", "delta", "idelta", "predict_linear"})

_METRIC_CLASSES = {
    "Counter": "counter",
    "Gauge": "gauge",
    "Histogram": "histogram",
    "Summary": "summary",
}


def require_module(module: str, package: str) -> ModuleType:
    """Import ``module``, failing the test run with the install command when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(
            f"{package} is not installed ({exc}). It is a dev dependency: run "
            f"`uv sync --all-packages` in {REPO_ROOT}, or `uv pip install {package}`.",
            pytrace=False,
        )


def run(command: list[str], *, cwd: Path = REPO_ROOT, timeout: float = 300) -> str:
    """Run ``command`` and return its stdout; fail the test with its output when it fails."""
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited with status {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}",
            pytrace=False,
        )
    return result.stdout


def install_tool(script: Path) -> Path:
    """Run an install script and return the binary path it prints on its last line."""
    output = run(["bash", str(script)], timeout=600)
    lines = output.strip().splitlines()
    if not lines:
        pytest.fail(f"{script} printed no path to the installed tool", pytrace=False)
    tool = Path(lines[-1])
    if not tool.is_file():
        pytest.fail(f"{script} printed {tool}, which is not a file", pytrace=False)
    return tool


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    kind: str
    source: Path


@functools.cache
def defined_metrics() -> dict[str, MetricDefinition]:
    """Find every Prometheus metric that libs/ and services/ define, without importing them.

    A definition is a call of prometheus_client's Counter, Gauge, Histogram or Summary whose
    first argument is a string literal, as in ``Counter("mga_emails_total", ...)``.
    """
    found: dict[str, MetricDefinition] = {}
    for top in ("libs", "services"):
        for path in sorted((REPO_ROOT / top).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                definition = _metric_definition(node, path)
                if definition is not None:
                    found[definition.name] = definition
    return found


def _metric_definition(node: ast.AST, path: Path) -> MetricDefinition | None:
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    class_name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    kind = _METRIC_CLASSES.get(class_name or "")
    first = node.args[0]
    if kind is None or not isinstance(first, ast.Constant) or not isinstance(first.value, str):
        return None
    return MetricDefinition(first.value, kind, path)


def exposed_series(definitions: dict[str, MetricDefinition]) -> dict[str, str]:
    """Map every series name that prometheus_client exposes for ``definitions`` to its kind.

    prometheus_client drops a counter's ``_total`` suffix from the family name and then
    writes ``<name>_total`` and ``<name>_created``. Histograms add ``_bucket``, ``_count``,
    ``_sum`` and ``_created``. The kinds here are those of the series: a histogram's
    ``_bucket``, ``_count`` and ``_sum`` only grow, so they count as counters.
    """
    series: dict[str, str] = {}
    for definition in definitions.values():
        name = definition.name
        if definition.kind == "counter":
            base = name.removesuffix("_total")
            series[f"{base}_total"] = "counter"
            series[f"{base}_created"] = "gauge"
        elif definition.kind == "gauge":
            series[name] = "gauge"
        else:
            for suffix in ("_bucket", "_count", "_sum"):
                series[f"{name}{suffix}"] = "counter"
            series[f"{name}_created"] = "gauge"
            if definition.kind == "summary":
                series[name] = "gauge"
    for name in RABBITMQ_QUEUE_GAUGES | PROMETHEUS_GAUGES:
        series[name] = "gauge"
    return series


def substitute_grafana_variables(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def parse_promql(expr: str) -> Any:
    promql_parser = require_module("promql_parser", "promql-parser")
    try:
        return promql_parser.parse(expr)
    except ValueError as exc:
        pytest.fail(f"invalid PromQL {expr!r}: {exc}", pytrace=False)


def _walk(expr: Any) -> Iterator[Any]:
    promql_parser = require_module("promql_parser", "promql-parser")
    nodes: list[Any] = []
    promql_parser.walk(expr, lambda node: nodes.append(node))
    yield from nodes


def selector_names(expr: str) -> set[str]:
    """Return the metric names that the vector and range selectors of ``expr`` name."""
    names: set[str] = set()
    for node in _walk(parse_promql(expr)):
        if type(node).__name__ == "VectorSelector":
            if node.name is None:
                pytest.fail(f"selector without a metric name in {expr!r}", pytrace=False)
            names.add(node.name)
    return names


def function_arguments(expr: str) -> list[tuple[str, str]]:
    """Return (function, metric) pairs for every range function applied to a selector."""
    pairs: list[tuple[str, str]] = []
    for node in _walk(parse_promql(expr)):
        if type(node).__name__ != "Call":
            continue
        for argument in node.args:
            if type(argument).__name__ == "MatrixSelector":
                pairs.append((node.func.name, argument.vector_selector.name))
    return pairs


def github_anchor(heading: str) -> str:
    """Return the anchor that GitHub's Markdown renderer gives a heading."""
    text = heading.strip().lower()
    slug_characters = "".join(ch for ch in text if ch.isalnum() or ch in " -_")
    return slug_characters.replace(" ", "-")


def markdown_anchors(path: Path) -> set[str]:
    anchors: set[str] = set()
    in_code = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and line.startswith("#"):
            anchors.add(github_anchor(line.lstrip("#")))
    return anchors
