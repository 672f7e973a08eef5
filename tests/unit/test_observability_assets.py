"""The Prometheus rules and the Grafana dashboard under deploy/: well-formed for the tools that
load them, every expression parses, and every metric they name is one the services export.

A metric renamed in the code (or misspelt in a rule) would otherwise leave an alert that can
never fire and a panel that stays empty, and nobody would notice until the day it mattered.
"""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import textwrap
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import promql_parser
import pytest
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "alerts.yaml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "alerts.test.yaml"
DASHBOARD = ROOT / "deploy" / "grafana" / "secop-accounts.json"

#: Every module that defines metrics (grep services/ and runtime/ for Counter(, Gauge(,
#: Histogram(): importing them registers their metrics in the default registry.
METRIC_MODULES = (
    "secop_runtime.metrics",
    "notification.service_layer.sending",
    "projector.stream",
    "registration.adapters.hashing",
)
#: The series names a family of each type is exposed under (Prometheus' text format).
SERIES_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "unknown": ("",),
}
#: Written by Prometheus itself for every target.
SCRAPE_SERIES = frozenset({"up"})
SEVERITIES = frozenset({"critical", "warning", "info"})
#: What issue 22 asks the alerts to cover, by the names the runbook refers to.
REQUIRED_ALERTS = frozenset(
    {
        "SecopConsumerLagHigh",
        "SecopEventsDeadLettered",
        "SecopEmailsAbandoned",
        "SecopServiceNotReady",
        "SecopTargetDown",
        "SecopHttp5xxRatioHigh",
        "SecopHandlerRetries",
        "SecopDatabaseLatencyHigh",
    }
)
#: What the dashboard's variables stand for when an expression is parsed.
VARIABLE_SAMPLES = {
    "__rate_interval": "5m",
    "__interval": "1m",
    "__range": "1h",
    "service": "(registration|membership)",
}
REQUIRED_ROWS = ("Traffic", "Events", "Email", "Database", "Readiness")


# --- Prometheus' rule-file format ---------------------------------------------------------

# Prometheus' own duration syntax (model.ParseDuration): units largest first, each at most once.
_DURATION = re.compile(r"^(?:0|(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?)$")


def _duration(value: str) -> str:
    if not value or not _DURATION.match(value):
        raise ValueError(f"not a Prometheus duration: {value!r}")
    return value


def _promql(value: str) -> str:
    promql_parser.parse(value)  # raises ValueError with the parser's message
    return value


Duration = Annotated[str, AfterValidator(_duration)]
PromQL = Annotated[str, AfterValidator(_promql)]
MetricName = Annotated[str, Field(pattern=r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")]
LabelName = Annotated[str, Field(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]


class _Strict(BaseModel):
    """Unknown keys are refused, as Prometheus refuses them when it loads the file."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class AlertingRule(_Strict):
    alert: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]*$")]
    expr: PromQL
    for_: Duration | None = Field(default=None, alias="for")
    keep_firing_for: Duration | None = None
    labels: dict[LabelName, str] = {}
    annotations: dict[LabelName, str] = {}


class RecordingRule(_Strict):
    record: MetricName
    expr: PromQL
    labels: dict[LabelName, str] = {}


class RuleGroup(_Strict):
    name: Annotated[str, Field(min_length=1)]
    interval: Duration | None = None
    query_offset: Duration | None = None
    limit: int | None = None
    labels: dict[LabelName, str] = {}
    rules: Annotated[list[AlertingRule | RecordingRule], Field(min_length=1)]


class RuleFile(_Strict):
    groups: Annotated[list[RuleGroup], Field(min_length=1)]

    @model_validator(mode="after")
    def _names_unique(self) -> RuleFile:
        for kind, names in (
            ("group", [g.name for g in self.groups]),
            ("alert", [r.alert for r in self.alerting]),
        ):
            repeated = sorted({n for n in names if names.count(n) > 1})
            if repeated:
                raise ValueError(f"{kind} names repeat: {repeated}")
        return self

    @property
    def alerting(self) -> list[AlertingRule]:
        return [r for g in self.groups for r in g.rules if isinstance(r, AlertingRule)]

    @property
    def recording(self) -> list[RecordingRule]:
        return [r for g in self.groups for r in g.rules if isinstance(r, RecordingRule)]


@cache
def rule_file() -> RuleFile:
    return RuleFile.model_validate(yaml.safe_load(RULES.read_text()))


@cache
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


# --- metric names: what the expressions name, what the services export --------------------


def metric_names(expr: str) -> set[str]:
    """Every metric an expression selects (vector and matrix selectors, ``{__name__=...}``)."""
    names: set[str] = set()

    def visit(node: promql_parser.Expr) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for m in node.matchers.matchers:
                if m.name == "__name__":
                    assert m.op == promql_parser.MatchOp.Equal, f"{expr}: match names exactly"
                    names.add(m.value)

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


@cache
def exported_series() -> frozenset[str]:
    """The series names the services' processes expose, read from the registry they fill."""
    from prometheus_client import REGISTRY

    for module in METRIC_MODULES:
        importlib.import_module(module)
    names: set[str] = set()
    for family in REGISTRY.collect():
        names.update(family.name + suffix for suffix in SERIES_SUFFIXES[family.type])
        names.update(sample.name for sample in family.samples)
    return frozenset(names)


def known_series() -> frozenset[str]:
    return exported_series() | SCRAPE_SERIES | {r.record for r in rule_file().recording}


def with_samples(expr: str) -> str:
    """A dashboard expression with Grafana's variables replaced by values they may take."""

    def sample(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        assert name in VARIABLE_SAMPLES, f"unknown variable ${name} in {expr}"
        return VARIABLE_SAMPLES[name]

    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", sample, expr)


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))  # a collapsed row keeps its panels


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and query variable, variables replaced."""
    found = []
    for panel in all_panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            where = f"panel {panel['id']} {panel['title']!r} target {target.get('refId')}"
            found.append((where, with_samples(target["expr"])))
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            values = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            found.append((f"variable {variable['name']}", values.group(1) if values else query))
    return found


# --- the rule file -------------------------------------------------------------------------


def test_the_rule_file_loads_as_prometheus_rule_groups_with_unique_names() -> None:
    rules = rule_file()
    assert rules.alerting and rules.recording
    assert {r.alert for r in rules.alerting} >= REQUIRED_ALERTS


def test_every_alert_has_a_duration_a_known_severity_and_a_runbook_section() -> None:
    for rule in rule_file().alerting:
        assert rule.for_ is not None, f"{rule.alert}: no `for`"
        assert rule.labels.get("severity") in SEVERITIES, f"{rule.alert}: severity"
        assert rule.annotations.get("summary"), f"{rule.alert}: no summary"
        assert rule.annotations.get("description"), f"{rule.alert}: no description"
        runbook = rule.annotations.get("runbook_url", "")
        assert re.fullmatch(r"README\.md#runbook-[a-z0-9]+(?:-[a-z0-9]+)*", runbook), (
            f"{rule.alert}: runbook_url {runbook!r} is not a README runbook anchor"
        )


def test_every_runbook_url_leads_to_a_section_of_the_readme() -> None:
    """An alert's link must land on its runbook entry: GitHub's anchor of a README heading."""
    text = re.sub(r"```.*?```", "", (ROOT / "README.md").read_text(), flags=re.S)
    anchors = {
        re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", text, flags=re.M)
    }
    for rule in rule_file().alerting:
        anchor = rule.annotations["runbook_url"].split("#", 1)[1]
        assert anchor in anchors, f"{rule.alert}: README.md has no section #{anchor}"


def test_recording_rules_are_defined_once_and_shadow_no_exported_metric() -> None:
    records = [r.record for r in rule_file().recording]
    assert len(records) == len(set(records))
    assert not set(records) & exported_series()
    # Prometheus' convention level:metric:operations keeps them apart from raw series.
    assert all(r.count(":") == 2 for r in records), records


def test_the_model_refuses_what_prometheus_refuses() -> None:
    good = {"alert": "X", "expr": "up == 0", "for": "5m"}
    RuleFile.model_validate({"groups": [{"name": "g", "rules": [good]}]})
    bad_rules = [
        {**good, "for": "5 minutes"},
        {**good, "expr": "rate(up[5m]"},
        {**good, "record": "x"},  # a rule is alerting or recording, not both
        {**good, "severity": "page"},  # labels belong under labels
    ]
    for rule in bad_rules:
        with pytest.raises(ValueError):
            RuleFile.model_validate({"groups": [{"name": "g", "rules": [rule]}]})
    with pytest.raises(ValueError, match="alert names repeat"):
        RuleFile.model_validate({"groups": [{"name": "g", "rules": [good, good]}]})


def test_the_rule_file_is_also_the_spec_of_a_prometheusrule() -> None:
    """The README wraps the file under `spec:` by indenting it: that must give the same rules."""
    wrapped = (
        "apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\n"
        "metadata:\n  name: secop-accounts\nspec:\n" + textwrap.indent(RULES.read_text(), "  ")
    )
    resource = yaml.safe_load(wrapped)
    assert resource["kind"] == "PrometheusRule"
    assert RuleFile.model_validate(resource["spec"]) == rule_file()


# --- every metric named is exported ---------------------------------------------------------


def test_the_registry_read_holds_every_services_metrics() -> None:
    """The check below is only as good as this list: a module missing from METRIC_MODULES
    would make its metrics look unknown, and one of each is asserted here."""
    exported = exported_series()
    for series in (
        "secop_events_consumed_total",
        "secop_http_request_seconds_bucket",
        "secop_consumer_lag",
        "secop_emails_total",
        "secop_projector_events_total",
        "secop_password_hash_cpu_seconds_total",
        "process_cpu_seconds_total",
    ):
        assert series in exported, series
    assert "secop_events_consumed" not in exported  # a counter's family name is no series


def test_every_rule_names_only_metrics_the_services_export() -> None:
    known = known_series()
    unknown = {
        f"{getattr(rule, 'alert', None) or getattr(rule, 'record', None)}: {name}"
        for group in rule_file().groups
        for rule in group.rules
        for name in metric_names(rule.expr)
        if name not in known
    }
    assert not unknown, f"rules name metrics nobody exports: {sorted(unknown)}"


def test_every_dashboard_expression_parses_and_names_only_exported_metrics() -> None:
    known = known_series()
    expressions = dashboard_expressions()
    assert len(expressions) > 20
    unknown = []
    for where, expr in expressions:
        try:
            names = metric_names(expr)
        except ValueError as exc:
            pytest.fail(f"{where}: {expr!r} does not parse: {exc}")
        assert names, f"{where}: {expr!r} selects no metric"
        unknown += [f"{where}: {name}" for name in sorted(names - known)]
    assert not unknown, f"the dashboard names metrics nobody exports: {unknown}"


def test_an_unknown_metric_or_variable_is_caught() -> None:
    """The checks above can fail: a misspelt name is found, an unknown variable refused."""
    assert metric_names('sum(rate(secop_event_published_total{topic="x"}[5m])) > 0') == {
        "secop_event_published_total"
    }
    assert "secop_event_published_total" not in known_series()
    assert metric_names('{__name__="secop_ready"} == 0') == {"secop_ready"}
    with pytest.raises(AssertionError, match="unknown variable"):
        with_samples("rate(x[$__rate_interval]) and y{env=~'$environment'}")


# --- the dashboard -------------------------------------------------------------------------


def test_the_dashboard_has_the_variables_grafana_needs() -> None:
    board = dashboard()
    assert board["schemaVersion"] >= 39
    assert board["uid"] and board["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["service"]["type"] == "query"
    assert variables["service"]["datasource"]["uid"] == "${datasource}"


def test_every_panel_has_a_unique_id_a_place_and_targets_with_ref_ids() -> None:
    panels = list(all_panels(dashboard()["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "panel ids repeat"
    rows = [p["title"] for p in panels if p["type"] == "row"]
    assert [r for r in rows if r in REQUIRED_ROWS] == list(REQUIRED_ROWS)
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["w"] >= 1 and grid["h"] >= 1 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        targets = panel.get("targets")
        assert targets, f"panel {panel['id']} {panel['title']!r} has no targets"
        refs = [t.get("refId") for t in targets]
        assert all(refs) and len(refs) == len(set(refs)), f"{panel['title']!r}: refIds {refs}"
        assert all(t.get("expr") for t in targets), f"{panel['title']!r}: empty expression"


# --- the alerts' logic, where promtool is at hand -------------------------------------------


PROMTOOL = shutil.which("promtool")


def test_promtool_accepts_the_rules_the_dashboard_and_the_rules_unit_tests(tmp_path) -> None:
    """Prometheus' own parser reads every expression (the dashboard's too, as recording rules),
    and alerts.test.yaml feeds the alerts series and checks which fire: a process's first dead
    letter, lag that grows, every process's readiness (the portal's too), and so on."""
    # Provisioning installs it (system-packages.toml): missing means a provisioning step is.
    assert PROMTOOL is not None, "promtool is missing: run ./dev provision"
    panels = tmp_path / "dashboard-rules.yaml"
    rules = [
        {"record": f"dashboard:expr{i}:x", "expr": e}
        for i, (_, e) in enumerate(dashboard_expressions())
    ]
    panels.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    for args in (
        ["check", "rules", str(RULES)],
        ["check", "rules", str(panels)],
        ["test", "rules", str(RULE_TESTS)],
    ):
        done = subprocess.run(  # noqa: S603  # our own files, no shell
            [PROMTOOL, *args], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
