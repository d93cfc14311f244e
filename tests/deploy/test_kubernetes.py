"""Checks of the Kustomize manifests in deploy/k8s, rendered with kustomize and validated offline.

Built-in kinds are validated against the Kubernetes OpenAPI schemas that the
kubernetes-validate package bundles, in strict mode, so unknown fields fail. KEDA's
ScaledObject and TriggerAuthentication have no schema there; the tests check their fields
by hand.
"""

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from mga_messaging.topology import COMMAND_OWNERS, SUBSCRIPTIONS, Consumer, Names
from tests.deploy.tools import K8S_DIR, SERVICES, install_tool, require_module, run

kubernetes_validate = require_module("kubernetes_validate", "kubernetes-validate")

OVERLAYS = ("development", "production")
# The oldest Kubernetes minor release the manifests are meant for, and the newest one that the
# validator has schemas for.
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
KEDA_KINDS = {"ScaledObject", "TriggerAuthentication"}
HPA_SERVICES = {"gateway", "simulation"}
KEDA_SERVICES = {"invitation", "mailer", "scoring", "webhook-dispatcher"}
# Graceful shutdown of a service after SIGTERM (timeout_graceful_shutdown in
# libs/core/mga_core/server.py).
SERVICE_SHUTDOWN_SECONDS = 20
# Fields of a ScaledObject's spec in KEDA 2.x that these manifests may use.
SCALED_OBJECT_FIELDS = {
    "scaleTargetRef",
    "pollingInterval",
    "cooldownPeriod",
    "minReplicaCount",
    "maxReplicaCount",
    "advanced",
    "triggers",
}

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def kustomize() -> Path:
    return install_tool(K8S_DIR / "install-tools.sh")


@pytest.fixture(scope="module")
def rendered(kustomize: Path) -> dict[str, list[Manifest]]:
    manifests = {}
    for overlay in OVERLAYS:
        output = run([str(kustomize), "build", str(K8S_DIR / "overlays" / overlay)])
        manifests[overlay] = [doc for doc in yaml.safe_load_all(output) if doc]
    return manifests


def _by_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def _container(deployment: Manifest) -> Manifest:
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _secret_template_keys() -> set[str]:
    secret = yaml.safe_load((K8S_DIR / "base" / "secret.yaml").read_text(encoding="utf-8"))
    return set(secret["stringData"])


def _config(manifests: list[Manifest]) -> dict[str, str]:
    [config_map] = _by_kind(manifests, "ConfigMap").values()
    return config_map["data"]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_objects_match_kubernetes_schemas(
    rendered: dict[str, list[Manifest]], overlay: str, version: str
) -> None:
    for manifest in rendered[overlay]:
        name = f"{manifest['kind']}/{manifest['metadata']['name']}"
        if manifest["kind"] in KEDA_KINDS:
            with pytest.raises(kubernetes_validate.SchemaNotFoundError):
                kubernetes_validate.validate(manifest, version, strict=True)
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{overlay} {name} is invalid for Kubernetes {version}: {exc}")


def test_strict_validation_rejects_unknown_field(rendered: dict[str, list[Manifest]]) -> None:
    deployment = copy.deepcopy(_by_kind(rendered["production"], "Deployment")["gateway"])
    deployment["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_has_workload_objects(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered[overlay]
    for kind in ("Deployment", "Service", "PodDisruptionBudget"):
        assert set(_by_kind(manifests, kind)) == set(SERVICES), kind
    assert {m["metadata"]["namespace"] for m in manifests if m["kind"] != "Namespace"} == {"mga"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_run_console_scripts(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    for name, deployment in _by_kind(rendered[overlay], "Deployment").items():
        container = _container(deployment)
        assert container["command"] == [SERVICES[name][0]], name
        assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_probes(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    for name, deployment in _by_kind(rendered[overlay], "Deployment").items():
        container = _container(deployment)
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}, name
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}, name
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz", name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_graceful_shutdown(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    for name, deployment in _by_kind(rendered[overlay], "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        grace = pod["terminationGracePeriodSeconds"]
        assert grace == 30, name
        command = _container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
        assert command[0] == "sleep", name
        sleep_seconds = int(command[1])
        assert sleep_seconds > 0, name
        assert sleep_seconds + SERVICE_SHUTDOWN_SECONDS <= grace, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_resources(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    for name, deployment in _by_kind(rendered[overlay], "Deployment").items():
        resources = _container(deployment)["resources"]
        for bound in ("requests", "limits"):
            assert {"cpu", "memory"} <= resources[bound].keys(), f"{name} {bound}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_security_context(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    for name, deployment in _by_kind(rendered[overlay], "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["automountServiceAccountToken"] is False, name
        context = _container(deployment)["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name
        assert context["capabilities"] == {"drop": ["ALL"]}, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployment_configuration_references(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered[overlay]
    config_maps = set(_by_kind(manifests, "ConfigMap"))
    secret_keys = _secret_template_keys()
    for name, deployment in _by_kind(manifests, "Deployment").items():
        container = _container(deployment)
        [source] = container["envFrom"]
        assert source["configMapRef"]["name"] in config_maps, name
        required = set()
        for variable in container["env"]:
            reference = variable["valueFrom"]["secretKeyRef"]
            assert reference["name"] == "mga-secrets", name
            assert reference["key"] == variable["name"], name
            assert reference["key"] in secret_keys, f"{name}: {reference['key']}"
            if not reference.get("optional", False):
                required.add(reference["key"])
        assert required == {"MGA_MONGODB_URL", "MGA_AMQP_URL"}, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_map_holds_no_secrets(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    assert not _secret_template_keys() & _config(rendered[overlay]).keys()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_services_and_budgets_select_their_pods(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered[overlay]
    deployments = _by_kind(manifests, "Deployment")
    selectors = {
        ("Service", name): service["spec"]["selector"]
        for name, service in _by_kind(manifests, "Service").items()
    }
    for name, budget in _by_kind(manifests, "PodDisruptionBudget").items():
        selectors[("PodDisruptionBudget", name)] = budget["spec"]["selector"]["matchLabels"]
    for (kind, name), selector in selectors.items():
        matching = [
            deployment_name
            for deployment_name, deployment in deployments.items()
            if selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert matching == [name], f"{kind}/{name} selects {matching}"
    for name, service in _by_kind(manifests, "Service").items():
        assert service["spec"]["ports"][0]["targetPort"] == "http", name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_has_one_autoscaler(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered[overlay]
    deployments = _by_kind(manifests, "Deployment")
    hpas = _by_kind(manifests, "HorizontalPodAutoscaler")
    scaled_objects = _by_kind(manifests, "ScaledObject")
    assert set(hpas) == HPA_SERVICES
    assert set(scaled_objects) == KEDA_SERVICES
    for name, hpa in hpas.items():
        target = {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert hpa["spec"]["scaleTargetRef"] == target
        [metric] = hpa["spec"]["metrics"]
        assert metric["resource"]["name"] == "cpu"
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"], name
    for name, scaled_object in scaled_objects.items():
        assert scaled_object["spec"]["scaleTargetRef"] == {"name": name}
    for name, deployment in deployments.items():
        message = f"{name} sets replicas, which its autoscaler owns"
        assert "replicas" not in deployment["spec"], message


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaled_objects_fields(rendered: dict[str, list[Manifest]], overlay: str) -> None:
    manifests = rendered[overlay]
    authentications = _by_kind(manifests, "TriggerAuthentication")
    for name, scaled_object in _by_kind(manifests, "ScaledObject").items():
        assert scaled_object["apiVersion"] == "keda.sh/v1alpha1"
        spec = scaled_object["spec"]
        assert set(spec) <= SCALED_OBJECT_FIELDS, name
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"], name
        assert spec["triggers"], name
        for trigger in spec["triggers"]:
            assert trigger["type"] == "rabbitmq", name
            metadata = trigger["metadata"]
            assert set(metadata) == {"protocol", "queueName", "mode", "value"}, name
            assert metadata["protocol"] == "amqp", name
            assert metadata["mode"] == "QueueLength", name
            assert re.fullmatch(r"\d+", metadata["value"]), name
            assert trigger["authenticationRef"]["name"] in authentications, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_scaled_objects_watch_service_queues(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered[overlay]
    names = Names(_config(manifests)["MGA_AMQP_PREFIX"])
    for name, scaled_object in _by_kind(manifests, "ScaledObject").items():
        consumer = Consumer(name)
        expected = set()
        if consumer in SUBSCRIPTIONS:
            expected.add(names.event_queue(consumer))
        if consumer in COMMAND_OWNERS.values():
            expected.add(names.command_queue(consumer))
        queues = {trigger["metadata"]["queueName"] for trigger in scaled_object["spec"]["triggers"]}
        assert queues == expected, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_trigger_authentication_reads_amqp_url(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    [authentication] = _by_kind(rendered[overlay], "TriggerAuthentication").values()
    assert authentication["apiVersion"] == "keda.sh/v1alpha1"
    assert authentication["spec"]["secretTargetRef"] == [
        {"parameter": "host", "name": "mga-secrets", "key": "MGA_AMQP_URL"}
    ]
    assert "MGA_AMQP_URL" in _secret_template_keys()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_ingress_routes_public_paths_only(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    manifests = rendered[overlay]
    services = _by_kind(manifests, "Service")
    [ingress] = _by_kind(manifests, "Ingress").values()
    routes = {}
    for rule in ingress["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            backend = path["backend"]["service"]
            service = services[backend["name"]]
            assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}
            routes[path["path"]] = backend["name"]
    assert routes == {
        "/v1": "gateway",
        "/openapi.json": "gateway",
        "/docs": "gateway",
        "/invite": "simulation",
        "/static": "simulation",
    }


def test_secret_template_has_only_placeholders() -> None:
    secret = yaml.safe_load((K8S_DIR / "base" / "secret.yaml").read_text(encoding="utf-8"))
    for key, value in secret["stringData"].items():
        assert "REPLACE_ME" in value, key
    assert _secret_template_keys() == {
        "MGA_MONGODB_URL",
        "MGA_AMQP_URL",
        "MGA_SMTP_USERNAME",
        "MGA_SMTP_PASSWORD",
        "MGA_LLM_API_KEY",
    }


def test_development_overlay(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["development"]
    config = _config(manifests)
    assert config["MGA_ENVIRONMENT"] == "development"
    assert config["MGA_WEBHOOK_ALLOW_PRIVATE_TARGETS"] == "true"
    # One invitation replica, which FerretDB requires.
    invitation = _by_kind(manifests, "ScaledObject")["invitation"]["spec"]
    assert invitation["maxReplicaCount"] == 1
    [secret] = _by_kind(manifests, "Secret").values()
    assert set(secret["stringData"]) == {"MGA_MONGODB_URL", "MGA_AMQP_URL"}
    for deployment in _by_kind(manifests, "Deployment").values():
        assert _container(deployment)["image"] == "mga-platform:dev"


def test_production_overlay(rendered: dict[str, list[Manifest]]) -> None:
    manifests = rendered["production"]
    config = _config(manifests)
    assert config["MGA_ENVIRONMENT"] == "production"
    assert config["MGA_WEBHOOK_ALLOW_PRIVATE_TARGETS"] == "false"
    assert config["MGA_PUBLIC_BASE_URL"].startswith("https://")
    assert not _by_kind(manifests, "Secret"), "production must not overwrite the cluster's Secret"
    for name, deployment in _by_kind(manifests, "Deployment").items():
        image = _container(deployment)["image"]
        repository, _, tag = image.rpartition(":")
        assert "/" in repository, f"{name}: {image}"
        assert tag, f"{name}: {image}"
        assert tag != "latest", f"{name}: {image}"
    for name, hpa in _by_kind(manifests, "HorizontalPodAutoscaler").items():
        assert hpa["spec"]["minReplicas"] >= 2, name
    for name, scaled_object in _by_kind(manifests, "ScaledObject").items():
        assert scaled_object["spec"]["minReplicaCount"] >= 2, name
