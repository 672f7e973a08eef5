"""The Helm chart (deploy/helm/secop-accounts), checked offline: ``helm lint``, ``helm template``
with several value sets, every manifest against Kubernetes' own schemas (kubernetes-validate,
strict), and the promises the chart makes: non-root read-only containers with limits, probes,
no secret in any manifest, the schema refusing bad values, one projector, only the
architecture's network flows, and settings each service really accepts.

Helm is built on first use by provisioning (``secop_devinfra.installs.helm_binary``)."""

from __future__ import annotations

import copy
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from secop_contracts.access import SUBSCRIPTIONS, consumed_topics
from secop_devinfra.installs import helm_binary
from secop_devinfra.keys import generate

# A fresh machine builds Helm (minutes) in the first test that needs it; `./dev test` has built it
# before any test runs.
pytestmark = [pytest.mark.unit, pytest.mark.timeout(900)]

CHART = Path(__file__).resolve().parents[2] / "deploy" / "helm" / "secop-accounts"
KUBERNETES = "1.33"
RELEASE = "secop"
NAMESPACE = "secop-accounts"
SERVICES = ("registration", "membership", "support", "notification", "projector", "portal")
PORTS = {
    "portal": 8000,
    "registration": 8001,
    "membership": 8002,
    "support": 8003,
    "notification": 8004,
    "projector": 8005,
}
#: Kinds whose schemas Kubernetes does not ship (their operators' CRDs): checked structurally.
CUSTOM_KINDS = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor"}
#: Environment names that hold secrets: only ever from a Secret, never a literal.
SECRET_NAME = re.compile(r"(PASSWORD$|SECRET|TOKEN$|PRIVATE|_KEY$|_KEYS$|MONGODB_URI|_HEADERS$)")
#: What a secret looks like when it leaks into a manifest as text.
SECRET_TEXT = re.compile(r"-----BEGIN|mongodb(\+srv)?://[^/\s]*:[^@\s]*@|\"kty\"")

VALUE_SETS = {
    "defaults": [],
    **{path.stem: [path] for path in sorted((CHART / "ci").glob("*.yaml"))},
}


# --- helm ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Helm:
    binary: Path
    #: Helm's cache, configuration and data: a folder of its own, never the user's.
    home: Path

    def run(self, *args: str, values: Sequence[Path] = ()) -> subprocess.CompletedProcess[str]:
        argv = [str(self.binary), *args]
        for path in values:
            argv += ["-f", str(path)]
        env = {f"HELM_{k}_HOME": str(self.home / k.lower()) for k in ("CACHE", "CONFIG", "DATA")}
        # our own binary and chart, no shell
        return subprocess.run(argv, capture_output=True, text=True, env=env, check=False)  # noqa: S603

    def template(self, *args: str, values: Sequence[Path] = ()) -> subprocess.CompletedProcess[str]:
        return self.run(
            "template",
            RELEASE,
            str(CHART),
            "--namespace",
            NAMESPACE,
            "--kube-version",
            KUBERNETES,
            *args,
            values=values,
        )


@pytest.fixture(scope="module")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(helm_binary(), tmp_path_factory.mktemp("helm-home"))


def template(helm: Helm, values: Sequence[Path] = ()) -> list[dict]:
    result = helm.template(values=values)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered(helm: Helm) -> dict[str, list[dict]]:
    return {name: template(helm, files) for name, files in VALUE_SETS.items()}


def refusal(helm: Helm, values: dict[str, Any], tmp_path: Path) -> str:
    path = tmp_path / "bad-values.yaml"
    path.write_text(yaml.safe_dump(values))
    result = helm.template(values=[path])
    assert result.returncode != 0, "helm template accepted bad values"
    return result.stderr


# --- reading the manifests --------------------------------------------------------------------


def of_kind(docs: list[dict], kind: str) -> list[dict]:
    return [d for d in docs if d["kind"] == kind]


def named(docs: list[dict], kind: str, name: str) -> dict:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind} {name}: {len(found)} found"
    return found[0]


def component(name: str) -> str:
    return f"{RELEASE}-secop-accounts-{name}"


def pod_specs(docs: list[dict]) -> Iterator[tuple[dict, dict]]:
    for doc in docs:
        if doc["kind"] in ("Deployment", "Job"):
            yield doc, doc["spec"]["template"]["spec"]


def containers(docs: list[dict]) -> Iterator[tuple[dict, dict]]:
    for doc, spec in pod_specs(docs):
        for container in spec.get("containers", []) + spec.get("initContainers", []):
            yield doc, container


def merged_values(files: list[Path]) -> dict[str, Any]:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for path in files:
        values = _merge(values, yaml.safe_load(path.read_text()))
    return values


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in override.items():
        out[key] = (
            _merge(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def existing_secrets(values: Any) -> set[str]:
    """Every Secret name the values give (``existingSecret``)."""
    if isinstance(values, dict):
        found = {values["existingSecret"]} if values.get("existingSecret") else set()
        return found.union(*(existing_secrets(v) for v in values.values()))
    if isinstance(values, list):
        return set().union(*(existing_secrets(v) for v in values))
    return set()


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)
    elif isinstance(node, str):
        yield node


# --- lint and Kubernetes' schemas -------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
@pytest.mark.parametrize("strict", [False, True], ids=["lint", "lint-strict"])
def test_helm_lint_passes(helm: Helm, value_set: str, strict: bool) -> None:
    args = ["lint", str(CHART), *(["--strict"] if strict else [])]
    result = helm.run(*args, values=VALUE_SETS[value_set])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_manifest_is_valid_for_kubernetes(rendered: dict, value_set: str) -> None:
    docs = rendered[value_set]
    assert {"Deployment", "Service", "ConfigMap", "NetworkPolicy", "Job"} <= {
        d["kind"] for d in docs
    }
    for doc in docs:
        if doc["kind"] in CUSTOM_KINDS:
            continue
        try:
            kubernetes_validate.validate(doc, KUBERNETES, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {path}: {exc.message}")


def test_the_custom_resources_are_well_formed_and_point_at_real_objects(rendered: dict) -> None:
    docs = rendered["everything-on-values"]
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    auths = {d["metadata"]["name"]: d for d in of_kind(docs, "TriggerAuthentication")}
    services = of_kind(docs, "Service")
    for scaled in of_kind(docs, "ScaledObject"):
        assert scaled["apiVersion"] == "keda.sh/v1alpha1"
        spec = scaled["spec"]
        target = deployments[spec["scaleTargetRef"]["name"]]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        kinds = [t["type"] for t in spec["triggers"]]
        assert "kafka" in kinds and "cpu" in kinds
        for trigger in spec["triggers"]:
            assert all(isinstance(v, str) for v in trigger["metadata"].values()), trigger
            if trigger["type"] != "kafka":
                continue
            auth = auths[trigger["authenticationRef"]["name"]]
            assert trigger["metadata"]["sasl"] == "scram_sha512"
            assert trigger["metadata"]["tls"] == "enable"
            # KEDA reads the user name from the container it scales: it must be there.
            (username,) = auth["spec"]["env"]
            container_names = [c["name"] for c in target["spec"]["template"]["spec"]["containers"]]
            assert username["containerName"] in container_names
            env_names = [
                e["name"] for e in target["spec"]["template"]["spec"]["containers"][0]["env"]
            ]
            assert username["name"] in env_names
    for auth in auths.values():
        assert auth["apiVersion"] == "keda.sh/v1alpha1"
        params = {r["parameter"] for r in auth["spec"]["secretTargetRef"]}
        assert params == {"password", "ca"}
        assert all(r["name"] and r["key"] for r in auth["spec"]["secretTargetRef"])
    monitors = of_kind(docs, "ServiceMonitor")
    assert len(monitors) == len(SERVICES)
    for monitor in monitors:
        assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
        selector = monitor["spec"]["selector"]["matchLabels"]
        (service,) = [s for s in services if selector.items() <= s["metadata"]["labels"].items()]
        (endpoint,) = monitor["spec"]["endpoints"]
        assert endpoint["path"] == "/metrics"
        assert endpoint["port"] in [p["name"] for p in service["spec"]["ports"]]
        # The alert rules group by the service's own name (deploy/prometheus).
        short = service["metadata"]["labels"]["app.kubernetes.io/component"]
        assert {"action": "replace", "targetLabel": "service", "replacement": short} in endpoint[
            "relabelings"
        ]


# --- pods --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_container_runs_as_non_root_on_a_read_only_root_with_limits(
    rendered: dict, value_set: str
) -> None:
    docs = rendered[value_set]
    assert len(list(containers(docs))) == len(SERVICES) + 1  # and the provisioning Job
    for doc, spec in pod_specs(docs):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0, doc["metadata"]["name"]
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
        assert spec["automountServiceAccountToken"] is False
        assert spec["serviceAccountName"] == doc["metadata"]["name"]
    for doc, container in containers(docs):
        where = f"{doc['metadata']['name']}/{container['name']}"
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True and context["runAsUser"] > 0, where
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["capabilities"]["drop"] == ["ALL"], where
        assert "add" not in context["capabilities"], where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        limits = container["resources"]["limits"]
        assert limits["cpu"] and limits["memory"], where
        assert container["resources"]["requests"]["memory"], where
        # The read-only root needs a writable /tmp (uploads spool there).
        assert "/tmp" in [m["mountPath"] for m in container["volumeMounts"]], where  # noqa: S108


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_every_deployment_has_liveness_and_readiness_probes_on_the_health_routes(
    rendered: dict, value_set: str
) -> None:
    deployments = of_kind(rendered[value_set], "Deployment")
    assert sorted(d["metadata"]["name"] for d in deployments) == sorted(
        component(s) for s in SERVICES
    )
    for deployment in deployments:
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"
        assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
        name = deployment["metadata"]["labels"]["app.kubernetes.io/component"]
        (port,) = container["ports"]
        assert port["containerPort"] == PORTS[name]
        assert container["livenessProbe"]["httpGet"]["port"] == port["name"]


def test_the_routes_the_probes_and_the_scrapers_use_exist_in_every_service() -> None:
    assert sorted(apps()) == sorted(SERVICES)
    for name, app in apps().items():
        assert {"/health/live", "/health/ready", "/metrics"} <= set(app.openapi()["paths"]), name


# --- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_no_secret_is_rendered_only_references_to_the_existing_secrets(
    rendered: dict, value_set: str
) -> None:
    docs = rendered[value_set]
    allowed = existing_secrets(merged_values(VALUE_SETS[value_set]))
    assert not of_kind(docs, "Secret")
    for doc in docs:
        for text in strings(doc):
            assert not SECRET_TEXT.search(text), f"{doc['kind']} {doc['metadata']['name']}"
    for config in of_kind(docs, "ConfigMap"):
        leaked = [k for k in config["data"] if SECRET_NAME.search(k)]
        assert not leaked, f"{config['metadata']['name']} holds {leaked}"
    referenced = set()
    for doc, container in containers(docs):
        for entry in container.get("env", []):
            if SECRET_NAME.search(entry["name"]):
                assert "value" not in entry, f"{doc['metadata']['name']}: {entry['name']}"
                ref = entry["valueFrom"]["secretKeyRef"]
                referenced.add(ref["name"])
    for _, spec in pod_specs(docs):
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                referenced.add(volume["secret"]["secretName"])
    for auth in of_kind(docs, "TriggerAuthentication"):
        referenced |= {r["name"] for r in auth["spec"]["secretTargetRef"]}
    assert referenced and referenced <= allowed, referenced - allowed


def test_the_services_get_only_the_secrets_they_use(rendered: dict) -> None:
    docs = rendered["everything-on-values"]
    secrets = {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: {
            e["name"]
            for e in d["spec"]["template"]["spec"]["containers"][0]["env"]
            if "valueFrom" in e
        }
        for d in of_kind(docs, "Deployment")
    }
    assert "JWT_PRIVATE_KEY" in secrets["registration"]
    assert [s for s, names in secrets.items() if "JWT_PRIVATE_KEY" in names] == ["registration"]
    assert [s for s, names in secrets.items() if "SEAL_PRIVATE_KEY" in names] == ["notification"]
    assert [s for s, names in secrets.items() if "SMTP_PASSWORD" in names] == ["notification"]
    assert [s for s, names in secrets.items() if "PSEUDONYM_KEY" in names] == ["projector"]
    # (every service gets the collector's credentials: these values turn tracing on)
    assert secrets["portal"] == {
        "PORTAL_SESSION_KEY",
        "JWT_PUBLIC_KEYS",
        "OTEL_EXPORTER_OTLP_HEADERS",
    }
    assert not any("MONGODB_URI" in secrets[s] for s in ("portal", "projector"))


# --- the schema refuses bad values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"services": {"membership": {"replicas": -1}}}, "/services/membership/replicas"),
        (
            {"kafka": {"credentials": {"support": {"existingSecret": ""}}}},
            "/kafka/credentials/support/existingSecret",
        ),
        (
            {"secrets": {"jwtPrivateKey": {"key": "private.pem", "existingSecret": None}}},
            "/secrets/jwtPrivateKey",
        ),
        ({"services": {"projector": {"replicas": 2}}}, "/services/projector/replicas"),
        (
            {"services": {"projector": {"autoscaling": {"enabled": True}}}},
            "/services/projector/autoscaling/enabled",
        ),
        (
            {"services": {"projector": {"keda": {"enabled": True}}}},
            "additional properties 'keda' not allowed",
        ),
        (
            {"services": {"notification": {"env": {"SMTP_PASSWORD": "hunter2"}}}},
            "/services/notification/env/SMTP_PASSWORD",
        ),
        ({"services": {"support": {"replcas": 3}}}, "additional properties 'replcas'"),
        ({"kafka": {"securityProtocol": "PLAINTEXT"}}, "/kafka/securityProtocol"),
        ({"podSecurity": {"runAsUser": 0}}, "/podSecurity/runAsUser"),
        ({"trustedProxies": []}, "/trustedProxies"),
        ({"smtp": {"network": {"peers": []}}}, "/smtp/network/peers"),
        ({"ingress": {"tls": {"enabled": True, "secretName": ""}}}, "/ingress/tls"),
        # A budget of 0% lets no pod go: no node holding one could be drained.
        (
            {"services": {"support": {"pdb": {"enabled": True, "maxUnavailable": "0%"}}}},
            "/services/support/pdb/maxUnavailable",
        ),
        # A rule without peers admits (or reaches) everything, wherever it is.
        (
            {"services": {"notification": {"extraIngress": [{"ports": [{"port": "http"}]}]}}},
            "/services/notification/extraIngress/0",
        ),
        (
            {"services": {"notification": {"extraIngress": [{"from": [], "ports": []}]}}},
            "/services/notification/extraIngress/0/from",
        ),
        (
            {"services": {"portal": {"extraEgress": [{"ports": [{"port": 443}]}]}}},
            "/services/portal/extraEgress/0",
        ),
        # The OTLP exporter reads its credentials from these: never a ConfigMap's value.
        (
            {"services": {"registration": {"env": {"OTEL_EXPORTER_OTLP_HEADERS": "a=b"}}}},
            "/services/registration/env/OTEL_EXPORTER_OTLP_HEADERS",
        ),
        (
            {"tracing": {"otlpEndpoint": "https://user:pw@collector.example:4318"}},
            "/tracing/otlpEndpoint",
        ),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_values_are_refused_with_the_schemas_message(
    helm: Helm, tmp_path: Path, values: dict, message: str
) -> None:
    stderr = refusal(helm, values, tmp_path)
    assert "don't meet the specifications of the schema" in stderr
    assert message in stderr, stderr


@pytest.mark.parametrize(
    "services",
    [
        {"support": {"pdb": {"enabled": True, "minAvailable": 2}}},  # the HPA's minimum is 2
        {"support": {"pdb": {"enabled": True, "minAvailable": "100%"}}},
        {"support": {"pdb": {"enabled": True, "minAvailable": "51%"}}},  # rounded up: 2 of 2
        {
            "support": {
                "autoscaling": {"enabled": False},
                "replicas": 1,
                "pdb": {"enabled": True, "minAvailable": 1},
            }
        },
        {"support": {"keda": {"enabled": True}, "pdb": {"enabled": True, "minAvailable": 2}}},
    ],
    ids=["all", "100%", "51%", "one-instance", "keda-minimum"],
)
def test_a_budget_that_keeps_every_instance_is_refused(
    helm: Helm, tmp_path: Path, services: dict
) -> None:
    """At its fewest instances a service must still let one go, or a node drain waits forever."""
    stderr = refusal(helm, {"services": services}, tmp_path)
    assert "services.support.pdb.minAvailable" in stderr and "no node drain" in stderr


def test_a_budget_that_lets_one_go_at_the_fewest_instances_is_accepted(
    helm: Helm, tmp_path: Path
) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(yaml.safe_dump({"services": {"support": {"pdb": {"minAvailable": "50%"}}}}))
    budget = named(template(helm, [path]), "PodDisruptionBudget", component("support"))
    assert budget["spec"]["minAvailable"] == "50%"


def test_tracing_without_a_network_peer_for_the_collector_is_refused(
    helm: Helm, tmp_path: Path
) -> None:
    stderr = refusal(helm, {"tracing": {"otlpEndpoint": "http://collector:4318"}}, tmp_path)
    assert "tracing.network.peers" in stderr


# --- the projector stays one instance ---------------------------------------------------------


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_the_projector_is_one_instance_without_an_autoscaler(
    rendered: dict, value_set: str
) -> None:
    docs = rendered[value_set]
    projector = named(docs, "Deployment", component("projector"))
    assert projector["spec"]["replicas"] == 1
    assert projector["spec"]["strategy"] == {"type": "Recreate"}
    targets = [
        d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "HorizontalPodAutoscaler")
    ]
    targets += [d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "ScaledObject")]
    assert component("projector") not in targets
    config = named(docs, "ConfigMap", component("projector"))["data"]
    assert config["INSTANCE_ID"]  # a fixed id, so a new pod fences the old one's transactions


def test_autoscaled_services_leave_replicas_to_the_autoscaler(rendered: dict) -> None:
    for value_set in ("defaults", "everything-on-values"):
        docs = rendered[value_set]
        hpa = {
            d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "HorizontalPodAutoscaler")
        }
        keda = {d["spec"]["scaleTargetRef"]["name"] for d in of_kind(docs, "ScaledObject")}
        assert not hpa & keda  # never two autoscalers on one Deployment
        for deployment in of_kind(docs, "Deployment"):
            scaled = deployment["metadata"]["name"] in hpa | keda
            assert ("replicas" in deployment["spec"]) is not scaled
    keda_on = {
        d["spec"]["scaleTargetRef"]["name"]
        for d in of_kind(rendered["everything-on-values"], "ScaledObject")
    }
    assert keda_on == {
        component(s) for s in ("registration", "membership", "support", "notification")
    }


def test_keda_scales_each_consumer_on_its_own_group_and_the_topics_the_contracts_give_it(
    rendered: dict,
) -> None:
    prefix = merged_values(VALUE_SETS["everything-on-values"])["kafka"]["topicPrefix"]
    for scaled in of_kind(rendered["everything-on-values"], "ScaledObject"):
        name = scaled["metadata"]["labels"]["app.kubernetes.io/component"]
        kafka = [t["metadata"] for t in scaled["spec"]["triggers"] if t["type"] == "kafka"]
        assert {t["consumerGroup"] for t in kafka} == {f"{prefix}{name}"}
        assert sorted(t["topic"] for t in kafka) == consumed_topics(name, prefix)
    assert set(SUBSCRIPTIONS) == {"registration", "membership", "support", "notification"}


# --- the network -------------------------------------------------------------------------------


def _selects(policy: dict, labels: dict[str, str]) -> bool:
    return policy["spec"]["podSelector"]["matchLabels"].items() <= labels.items()


def _egress_peers(policy: dict) -> list[dict]:
    return [peer for rule in policy["spec"].get("egress", []) for peer in rule.get("to", [])]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_network_policies_cover_every_pod_and_allow_only_the_architectures_flows(
    rendered: dict, value_set: str
) -> None:
    docs = rendered[value_set]
    values = merged_values(VALUE_SETS[value_set])
    policies = of_kind(docs, "NetworkPolicy")
    deny = named(docs, "NetworkPolicy", f"{RELEASE}-secop-accounts-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress"] and "ingress" not in deny["spec"]
    for doc, _ in pod_specs(docs):
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert _selects(deny, labels), doc["metadata"]["name"]
        own = [p for p in policies if p is not deny and _selects(p, labels)]
        assert len(own) == 1, doc["metadata"]["name"]
        assert own[0]["spec"]["policyTypes"] == ["Ingress", "Egress"]
    by_service = {s: named(docs, "NetworkPolicy", component(s)) for s in SERVICES}
    smtp, kafka, mongodb = (values[k]["network"]["peers"] for k in ("smtp", "kafka", "mongodb"))
    assert [s for s, p in by_service.items() if any(x in _egress_peers(p) for x in smtp)] == [
        "notification"
    ]
    assert [s for s, p in by_service.items() if any(x in _egress_peers(p) for x in mongodb)] == [
        "registration",
        "membership",
        "support",
        "notification",
    ]
    assert [s for s, p in by_service.items() if any(x in _egress_peers(p) for x in kafka)] == [
        s for s in SERVICES if s != "portal"
    ]
    # The portal calls registration, membership and support, and nothing else in the release.
    called = [
        peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
        for peer in _egress_peers(by_service["portal"])
        if "podSelector" in peer and "namespaceSelector" not in peer
    ]
    assert called == ["registration", "membership", "support"]
    for name in SERVICES:
        sources = [
            peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component")
            for rule in by_service[name]["spec"]["ingress"]
            for peer in rule.get("from", [])
        ]
        assert ("portal" in sources) is (name in ("registration", "membership", "support"))


def test_only_the_portal_and_the_public_apis_admit_the_ingress_controller(rendered: dict) -> None:
    for value_set, public in (
        ("defaults", ["portal"]),
        ("everything-on-values", ["registration", "membership", "support", "portal"]),
    ):
        docs = rendered[value_set]
        controller = merged_values(VALUE_SETS[value_set])["ingress"]["controllerPeers"]
        admitted = [
            s
            for s in SERVICES
            if any(
                peer in rule.get("from", [])
                for rule in named(docs, "NetworkPolicy", component(s))["spec"]["ingress"]
                for peer in controller
            )
        ]
        assert admitted == public, value_set


def test_tracing_opens_egress_to_the_collector_only_when_configured(rendered: dict) -> None:
    collector = merged_values(VALUE_SETS["everything-on-values"])["tracing"]["network"]["peers"]
    for value_set, expected in (("defaults", False), ("everything-on-values", True)):
        for name in SERVICES:
            policy = named(rendered[value_set], "NetworkPolicy", component(name))
            assert (collector[0] in _egress_peers(policy)) is expected


def test_the_collectors_credentials_come_from_a_secret_only_when_tracing_is_on(
    rendered: dict,
) -> None:
    """OTEL_EXPORTER_OTLP_HEADERS carries the collector's credentials: ``tracing.headers``
    names its Secret (``services.<name>.env`` refuses it: that is a ConfigMap)."""
    for value_set, expected in (("defaults", None), ("everything-on-values", "secop-otlp")):
        for doc, container in containers(rendered[value_set]):
            if doc["kind"] != "Deployment":
                continue
            env = {e["name"]: e for e in container["env"]}
            entry = env.get("OTEL_EXPORTER_OTLP_HEADERS")
            if expected is None:
                assert entry is None, doc["metadata"]["name"]
            else:
                assert entry is not None and "value" not in entry, doc["metadata"]["name"]
                assert entry["valueFrom"]["secretKeyRef"] == {"name": expected, "key": "headers"}


# --- ingress ----------------------------------------------------------------------------------


def _route(ingress: dict, path: str) -> str | None:
    """The backend Service a request path reaches: the longest matching Prefix, element-wise,
    as the Ingress API specifies."""
    best: tuple[int, str] | None = None
    for rule in ingress["spec"]["rules"]:
        for entry in rule["http"]["paths"]:
            assert entry["pathType"] == "Prefix"
            prefix = entry["path"].rstrip("/").split("/")
            if path.split("/")[: len(prefix)] == prefix and (best is None or len(prefix) > best[0]):
                best = (len(prefix), entry["backend"]["service"]["name"])
    return best[1] if best else None


OPERATIONS = ("/health/live", "/health/ready", "/metrics", "/docs", "/openapi.json", "/asyncapi")


def test_the_api_ingress_routes_every_public_route_to_its_service_and_no_operations_route(
    rendered: dict,
) -> None:
    docs = rendered["everything-on-values"]
    api = named(docs, "Ingress", component("api"))
    for name, app in apps().items():
        if name not in ("registration", "membership", "support"):
            continue  # notification's routes are the operators'; the portal has its own host
        for path in app.openapi()["paths"]:
            if path.startswith(OPERATIONS):
                continue
            assert _route(api, path) == component(name), path
    for path in [*OPERATIONS, "/asyncapi.yaml", "/deliveries"]:
        assert _route(api, path) is None, path
    portal = named(docs, "Ingress", component("portal"))
    assert _route(portal, "/entidades/buscar") == component("portal")
    for ingress in (api, portal):
        assert ingress["spec"]["tls"][0]["secretName"] == "secop-accounts-tls"


def test_the_api_ingress_is_off_by_default(rendered: dict) -> None:
    names = [d["metadata"]["name"] for d in of_kind(rendered["defaults"], "Ingress")]
    assert names == [component("portal")]


# --- the settings each service gets ---------------------------------------------------------


def _secret_value(name: str) -> str:
    keys = _keys()
    return {
        "JWT_PRIVATE_KEY": keys.jwt_private_pem,
        "JWT_PUBLIC_KEYS": keys.jwks,
        "SEAL_PRIVATE_KEY": keys.seal_private,
        "NOTIFICATION_SEAL_PUBLIC_KEY": keys.seal_public,
        "PSEUDONYM_KEY": keys.pseudonym_key,
        "PORTAL_SESSION_KEY": keys.portal_session_key,
        "OPERATOR_TOKEN": "Zk3q9Vb1Lm0Xr7Tn2Wc5Hy8Pd4Js6Ga",
        "MONGODB_URI": "mongodb://service:pw@mongodb.example:27017/",
    }.get(name, "s3cr3t-value")


@cache
def _keys():  # type: ignore[no-untyped-def]
    return generate(kid="helm-test")


def _settings_class(name: str):  # type: ignore[no-untyped-def]
    module = __import__(f"{name}.config", fromlist=["Settings"])
    return module.Settings


@pytest.mark.parametrize("value_set", VALUE_SETS)
@pytest.mark.parametrize("name", SERVICES)
def test_each_service_accepts_the_environment_the_chart_gives_it(
    rendered: dict, value_set: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ConfigMap and the Secrets' entries, as the pod gets them, make valid settings: every
    required setting is there and each value parses (TRUSTED_PROXIES' JSON, the ports...)."""
    docs = rendered[value_set]
    values = merged_values(VALUE_SETS[value_set])
    deployment = named(docs, "Deployment", component(name))
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = dict(named(docs, "ConfigMap", component(name))["data"])
    for entry in container["env"]:
        env[entry["name"]] = entry["value"] if "value" in entry else _secret_value(entry["name"])
    settings_class = _settings_class(name)
    # Settings ignore unknown variables: a misspelt name would be dropped without a word.
    unknown = {
        k for k in env if k.lower() not in settings_class.model_fields and not k.startswith("OTEL_")
    }
    assert not unknown, f"{name} has no setting for {sorted(unknown)}"
    for field in settings_class.model_fields:
        monkeypatch.delenv(field.upper(), raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = settings_class()
    assert settings.http_host == "0.0.0.0"  # noqa: S104 - a pod listens on its own address
    assert settings.http_port == PORTS[name] == container["ports"][0]["containerPort"]
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    if name != "portal":
        assert settings.kafka_security_protocol == "SASL_SSL"
        assert settings.kafka_username == name  # its own principal, whose ACLs it needs
        assert settings.consumer_group == f"{values['kafka']['topicPrefix']}{name}"
        assert any(settings.kafka_ca_file.startswith(f"{m}/") for m in mounts)
    if name in ("registration", "membership", "support", "portal"):
        assert settings.trusted_proxies == values["trustedProxies"]
    scheme = "https" if values["ingress"]["tls"]["enabled"] else "http"
    if name in ("notification", "portal"):
        assert settings.public_base_url == f"{scheme}://{values['ingress']['portal']['host']}"
    if name == "portal":
        assert settings.registration_url == f"http://{component('registration')}:8001"
        assert settings.portal_secure_cookies is True


# --- the services' own routes ----------------------------------------------------------------


@cache
def apps() -> dict[str, Any]:
    """Each service's app, built (never started) with valid keys: the routes it serves."""
    keys = _keys()
    extra: dict[str, dict[str, Any]] = {
        "registration": {"notification_seal_public_key": keys.seal_public},
        "membership": {"notification_seal_public_key": keys.seal_public},
        "support": {"notification_seal_public_key": keys.seal_public},
        "notification": {
            "seal_private_key": keys.seal_private,
            "operator_token": _secret_value("OPERATOR_TOKEN"),
        },
        "projector": {"pseudonym_key": keys.pseudonym_key},
        "portal": {"portal_session_key": keys.portal_session_key},
    }
    built = {}
    for name in SERVICES:
        module = __import__(f"{name}.app", fromlist=["create_app"])
        built[name] = module.create_app(_settings_class(name)(**extra[name]))
    return built
