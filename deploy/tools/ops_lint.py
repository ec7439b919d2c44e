#!/usr/bin/env python3
"""Checks of the deployment files that no off-the-shelf tool makes; run by `.ci/ops-checks`.

    ops_lint.py yaml FILE...            strict YAML: every document parses, no duplicate keys
    ops_lint.py consistency             ports, names, labels, metric names and their labels agree
    ops_lint.py rules-sync [--write]    deploy/k8s/prometheusrule.yaml carries alerts.yml's groups
    ops_lint.py dashboard OUT           dashboard structure; writes its queries as rules for promtool
    ops_lint.py core-kinds IN OUT       keeps the built-in Kubernetes kinds of a rendered stream

Needs PyYAML. Paths are relative to the repository root (the current directory).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

ALERTS = Path("deploy/prometheus/alerts.yml")
PROMETHEUS = Path("deploy/prometheus/prometheus.yml")
PROMETHEUS_RULE = Path("deploy/k8s/prometheusrule.yaml")
DASHBOARD = Path("deploy/grafana/dashboards/acs-gateway.json")
DATASOURCES = Path("deploy/grafana/provisioning/datasources/prometheus.yml")
COMPOSE = Path("docker-compose.yml")
K8S = Path("deploy/k8s")
METRICS_SOURCE = Path("crates/gateway/src")

# Kinds that kubernetes-validate has no schema for (custom resources, kustomize's own file).
NON_CORE_GROUPS = ("monitoring.coreos.com/", "kustomize.config.k8s.io/")

failures: list[str] = []


def fail(message: str) -> None:
    failures.append(message)
    print(f"  FAIL {message}")


def check(condition: bool, message: str) -> None:
    if not condition:
        fail(message)


def finish(what: str) -> int:
    if failures:
        print(f"{what}: {len(failures)} problem(s)")
        return 1
    print(f"{what}: ok")
    return 0


# ----------------------------------------------------------------------------------------------------
# Strict YAML
# ----------------------------------------------------------------------------------------------------
class StrictLoader(yaml.SafeLoader):
    """A SafeLoader that refuses duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: StrictLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set = set()
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue  # `<<: *anchor` (compose's extension fields)
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_all(path: Path) -> list:
    with path.open(encoding="utf-8") as f:
        return [doc for doc in yaml.load_all(f, Loader=StrictLoader) if doc is not None]


def load_one(path: Path):
    docs = load_all(path)
    if len(docs) != 1:
        raise ValueError(f"{path}: expected one YAML document, found {len(docs)}")
    return docs[0]


def cmd_yaml(paths: list[str]) -> int:
    for name in paths:
        try:
            docs = load_all(Path(name))
            print(f"  ok   {name} ({len(docs)} document{'s' if len(docs) != 1 else ''})")
        except (yaml.YAMLError, OSError) as error:
            fail(f"{name}: {error}")
    return finish("YAML")


# ----------------------------------------------------------------------------------------------------
# Consistency across files
# ----------------------------------------------------------------------------------------------------
def k8s_objects() -> dict[tuple[str, str], dict]:
    objects = {}
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_all(path):
            objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return objects


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def referenced_metrics(text: str) -> set[str]:
    names = set(re.findall(r"\bacsgw_[a-z0-9_]+", text))
    return {re.sub(r"_(bucket|count|sum)$", "", n) for n in names}


def defined_metrics() -> set[str]:
    text = "\n".join(p.read_text(encoding="utf-8") for p in METRICS_SOURCE.rglob("*.rs"))
    return set(re.findall(r'"(acsgw_[a-z0-9_]+)"', text))


# `r.counter_vec("acsgw_x", "help", &["a", "b"])`, `r.tenant_counter("acsgw_x", "help", Some("outcome"))`, ...
FAMILY = re.compile(
    r'\.(counter|counter_vec|tenant_counter|tenant_gauge|histogram|histogram_vec|gauge|gauge_vec)\(\s*'
    r'"(acsgw_[a-z0-9_]+)",\s*"(?:[^"\\]|\\.)*",?\s*(?:Some\("(\w+)"\)|None|&\[([^\]]*)\])?',
    re.S,
)
# Labels Prometheus adds, and the histogram bucket's.
ADDED_LABELS = {"instance", "job"}


def defined_labels() -> dict[str, set[str]]:
    """Each family's labels, read from how the gateway's metrics source builds it."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in METRICS_SOURCE.rglob("*.rs"))
    families: dict[str, set[str]] = {}
    for kind, name, other, listed in FAMILY.findall(text):
        labels = set(re.findall(r'"(\w+)"', listed)) | ({other} if other else set())
        if kind.startswith("tenant_"):
            labels.add("tenant")
        families[name] = labels
        if kind.startswith("histogram"):
            families[f"{name}_bucket"] = labels | {"le"}
            families[f"{name}_count"] = families[f"{name}_sum"] = labels
    return families


def balanced(expr: str, start: int) -> str:
    """The text of the parenthesised group opening at `expr[start]`."""
    depth = 0
    for i in range(start, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[i], 0)
        if depth == 0:
            return expr[start : i + 1]
    return expr[start:]


def unknown_labels(expr: str, families: dict[str, set[str]]) -> list[str]:
    """Labels that `expr` selects on or groups by but the families it reads do not have: such a
    query is valid PromQL and silently empty (or wrong) once a label is dropped from a family."""
    problems = []
    for name, matchers in re.findall(r"\b(acsgw_[a-z0-9_]+)\{([^}]*)\}", expr):
        used = set(re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", matchers)) - ADDED_LABELS
        if name in families and used - families[name]:
            problems.append(f"{name} has no label {', '.join(sorted(used - families[name]))}")
    for grouping in re.finditer(r"\bby\s*\(([^)]*)\)\s*\(", expr):
        used = {label.strip() for label in grouping.group(1).split(",") if label.strip()} - ADDED_LABELS
        group = balanced(expr, grouping.end() - 1)
        for name in set(re.findall(r"\b(acsgw_[a-z0-9_]+)", group)) & families.keys():
            if used - families[name]:
                problems.append(f"{name} has no label {', '.join(sorted(used - families[name]))} to group by")
    return problems


def queries() -> list[tuple[str, str]]:
    """Every PromQL expression of the alerts and the dashboard, with where it is."""
    found = []
    for group in load_one(ALERTS)["groups"]:
        for rule in group["rules"]:
            found.append((f"{ALERTS} {rule.get('alert', rule.get('record'))}", rule["expr"]))
    for panel in walk_panels(json.loads(DASHBOARD.read_text(encoding="utf-8"))["panels"]):
        for target in panel.get("targets", []):
            found.append((f"{DASHBOARD} panel {panel['title']!r}", target["expr"]))
    return found


def cmd_consistency() -> int:
    objects = k8s_objects()
    config = objects[("ConfigMap", "acs-gateway-config")]["data"]
    deployment = objects[("Deployment", "acs-gateway")]
    service = objects[("Service", "acs-gateway")]
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}

    # Listen addresses, container ports, Service ports.
    check(port_of(config["ACSGW_LISTEN"]) == ports.get("http"), "ACSGW_LISTEN's port is not the container's `http` port")
    check(
        port_of(config["ACSGW_METRICS_LISTEN"]) == ports.get("metrics"),
        "ACSGW_METRICS_LISTEN's port is not the container's `metrics` port",
    )
    for port in service["spec"]["ports"]:
        check(port["targetPort"] in ports, f"Service port {port['name']} targets unknown container port {port['targetPort']}")
    check(ports.get("http") == 8080 and ports.get("metrics") == 9090, "container ports must be http=8080, metrics=9090")

    # Probes.
    probes = {k: container[k]["httpGet"] for k in ("livenessProbe", "readinessProbe", "startupProbe") if k in container}
    check(probes["readinessProbe"]["path"] == "/readyz", "readiness must probe /readyz")
    check(probes["livenessProbe"]["path"] == "/healthz", "liveness must probe /healthz")
    check(container["readinessProbe"]["timeoutSeconds"] >= 3, "/readyz answers within 2 s: its probe needs timeoutSeconds >= 3")

    # Graceful shutdown fits in the grace period.
    shutdown = int(config["ACSGW_SHUTDOWN_TIMEOUT_SECONDS"])
    sleep = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    grace = pod["spec"]["terminationGracePeriodSeconds"]
    flush = 5  # the gateway's final statistics flush is bounded by 5 s
    check(
        grace > shutdown + sleep + flush,
        f"terminationGracePeriodSeconds {grace} <= shutdown {shutdown} + preStop {sleep} + statistics flush {flush}",
    )
    ttl = int(config.get("ACSGW_TENANT_CACHE_TTL_SECONDS", "3600"))
    check(ttl >= 600, f"ACSGW_TENANT_CACHE_TTL_SECONDS {ttl}: NOTIFY invalidates; a short TTL reloads every tenant that often")

    # Selectors match the pods they are meant for.
    pod_labels = pod["metadata"]["labels"]
    selected = lambda selector: all(pod_labels.get(k) == v for k, v in selector.items())  # noqa: E731
    check(selected(deployment["spec"]["selector"]["matchLabels"]), "Deployment selector does not match its pods")
    check(selected(service["spec"]["selector"]), "Service selector does not match the gateway pods")
    check(selected(objects[("PodDisruptionBudget", "acs-gateway")]["spec"]["selector"]["matchLabels"]), "PDB selector")
    check(selected(objects[("NetworkPolicy", "acs-gateway")]["spec"]["podSelector"]["matchLabels"]), "NetworkPolicy selector")
    hpa = objects[("HorizontalPodAutoscaler", "acs-gateway")]["spec"]
    check(hpa["scaleTargetRef"]["name"] == deployment["metadata"]["name"], "HPA targets another Deployment")
    check(hpa["minReplicas"] <= deployment["spec"]["replicas"] <= hpa["maxReplicas"], "Deployment replicas outside HPA range")

    # The ServiceMonitor scrapes the Service's metrics port (so job="acs-gateway", as the alerts expect).
    monitor = objects[("ServiceMonitor", "acs-gateway")]["spec"]
    service_labels = service["metadata"]["labels"]
    check(all(service_labels.get(k) == v for k, v in monitor["selector"]["matchLabels"].items()), "ServiceMonitor misses the Service")
    check(monitor["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}, "ServiceMonitor port not on Service")
    check(service["metadata"]["name"] == "acs-gateway", "the alerts expect job=\"acs-gateway\" (the Service's name)")

    # NetworkPolicy opens the listener ports.
    policy = objects[("NetworkPolicy", "acs-gateway")]["spec"]
    opened = {p["port"] for rule in policy["ingress"] for p in rule["ports"]}
    check({8080, 9090} <= opened, "NetworkPolicy must admit 8080 and 9090")

    # Every pod runs as the image's non-root user with the same hardening.
    job_pod = objects[("Job", "acs-gateway-migrate")]["spec"]["template"]
    for name, spec in (("Deployment", pod["spec"]), ("Job", job_pod["spec"])):
        for c in spec["containers"]:
            sc = c["securityContext"]
            check(sc.get("runAsUser") == 10001 and sc.get("runAsNonRoot") is True, f"{name}: runAsUser 10001, runAsNonRoot")
            check(sc.get("readOnlyRootFilesystem") is True, f"{name}: readOnlyRootFilesystem")
            check(sc.get("allowPrivilegeEscalation") is False, f"{name}: allowPrivilegeEscalation false")
            check(sc.get("capabilities", {}).get("drop") == ["ALL"], f"{name}: capabilities drop ALL")
            check(sc.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{name}: seccomp RuntimeDefault")
            check(c["image"].split(":")[0] == "acs-gateway", f"{name}: image must be acs-gateway (kustomize maps it)")

    # Namespaces.
    kustomization = load_one(K8S / "kustomization.yaml")
    for (kind, name), doc in objects.items():
        if kind != "Namespace":
            check(doc["metadata"].get("namespace") == kustomization["namespace"], f"{kind}/{name}: namespace")
    listed = set(kustomization["resources"])
    expected = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    check(listed == expected, f"kustomization resources {sorted(listed)} != manifests {sorted(expected)}")

    # Compose: two replicas with the metrics listener Prometheus scrapes.
    compose = load_one(COMPOSE)
    prometheus = load_one(PROMETHEUS)
    gateway_job = next(j for j in prometheus["scrape_configs"] if j["job_name"] == "acs-gateway")
    targets = {t for sc in gateway_job["static_configs"] for t in sc["targets"]}
    for name in ("gateway-1", "gateway-2"):
        env = compose["services"][name]["environment"]
        check(f"{name}:{port_of(env['ACSGW_METRICS_LISTEN'])}" in targets, f"Prometheus does not scrape {name}")
        check(compose["services"][name]["build"]["target"] == "gateway", f"{name} must build the gateway target")
    for name in ("entra", "acs"):
        check(compose["services"][name].get("profiles") == ["dev"], f"{name} must be in the dev profile only")
        check(compose["services"][name]["build"]["target"] == "devstack", f"{name} must build the devstack target")
    check(prometheus["rule_files"] == ["alerts.yml"], "prometheus.yml must load alerts.yml")

    # Metric names used by the alerts and the dashboard exist in the gateway's source.
    defined = defined_metrics()
    if not defined:
        fail(f"no acsgw_ metric names found under {METRICS_SOURCE}")
    for path in (ALERTS, DASHBOARD):
        for name in sorted(referenced_metrics(path.read_text(encoding="utf-8")) - defined):
            fail(f"{path} uses {name}, which {METRICS_SOURCE} does not define")

    # ... and the labels they select on and group by exist on those metrics.
    families = defined_labels()
    check(defined <= {re.sub(r"_(bucket|count|sum)$", "", n) for n in families}, "labels of every metric found")
    for where, expr in queries():
        for problem in unknown_labels(expr, families):
            fail(f"{where}: {problem}")

    return finish("Consistency")


# ----------------------------------------------------------------------------------------------------
# PrometheusRule = alerts.yml
# ----------------------------------------------------------------------------------------------------
class BlockDumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


BlockDumper.add_representer(str, _str)

RULE_HEADER = """\
# GENERATED from deploy/prometheus/alerts.yml by `.ci/ops-checks --sync-rules`: edit alerts.yml, then
# run that (.ci/ops-checks fails while the two differ). The Prometheus Operator loads these rules;
# add the label your Prometheus selects rules by (e.g. `release: kube-prometheus-stack`) if needed.
"""


def cmd_rules_sync(write: bool) -> int:
    groups = load_one(ALERTS)["groups"]
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "acs-gateway", "namespace": "acs-gateway", "labels": {"app.kubernetes.io/name": "acs-gateway"}},
        "spec": {"groups": groups},
    }
    if write:
        text = yaml.dump(rule, Dumper=BlockDumper, sort_keys=False, width=120, allow_unicode=True)
        PROMETHEUS_RULE.write_text(RULE_HEADER + text, encoding="utf-8")
        print(f"  wrote {PROMETHEUS_RULE}")
        return 0
    current = load_one(PROMETHEUS_RULE) if PROMETHEUS_RULE.exists() else None
    if current != rule:
        fail(f"{PROMETHEUS_RULE} differs from {ALERTS}: run `.ci/ops-checks --sync-rules`")
    return finish("PrometheusRule in sync with alerts.yml")


# ----------------------------------------------------------------------------------------------------
# Grafana dashboard
# ----------------------------------------------------------------------------------------------------
def walk_panels(panels: list) -> list:
    out = []
    for panel in panels:
        out.append(panel)
        out.extend(walk_panels(panel.get("panels", [])))
    return out


def cmd_dashboard(out: str) -> int:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    uid = load_one(DATASOURCES)["datasources"][0]["uid"]

    check(dashboard.get("schemaVersion", 0) >= 36, "schemaVersion must be >= 36")
    check(bool(dashboard.get("uid")), "the dashboard needs a uid")
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    tenant = variables.get("tenant")
    check(tenant is not None, "a `tenant` variable")
    if tenant:
        check("label_values(acsgw_exchange_requests_total, tenant)" in json.dumps(tenant["query"]), "tenant variable query")
        check(tenant.get("multi") is True and tenant.get("includeAll") is True, "tenant variable: multi and include All")
        check(tenant["datasource"].get("uid") == uid, "tenant variable datasource uid")

    panels = walk_panels(dashboard["panels"])
    ids = [p["id"] for p in panels]
    check(len(ids) == len(set(ids)), "panel ids must be unique")
    rules = []
    for panel in panels:
        if panel["type"] == "row":
            continue
        check(panel.get("datasource", {}).get("uid") == uid, f"panel {panel['title']!r}: datasource uid must be {uid!r}")
        for target in panel.get("targets", []):
            check(target.get("datasource", {}).get("uid") == uid, f"panel {panel['title']!r} {target['refId']}: datasource uid")
            # Grafana's variables, replaced by something promtool can parse.
            expr = target["expr"].replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$tenant", ".*")
            check("$" not in expr, f"panel {panel['title']!r}: unknown variable in {target['expr']}")
            rules.append({"record": f"dashboard:panel_{panel['id']}_{target['refId']}", "expr": expr})
    check(len(rules) > 0, "the dashboard has queries")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": rules}]}, sort_keys=False))
    print(f"  {len(panels)} panels, {len(rules)} queries written to {out} for promtool")
    return finish("Dashboard")


# ----------------------------------------------------------------------------------------------------
# Built-in kinds of a rendered stream (for kubernetes-validate)
# ----------------------------------------------------------------------------------------------------
def cmd_core_kinds(source: str, out: str) -> int:
    docs = load_all(Path(source))
    kept = [d for d in docs if not d["apiVersion"].startswith(NON_CORE_GROUPS)]
    for d in docs:
        if d not in kept:
            print(f"  skipped {d['kind']}/{d['metadata']['name']} ({d['apiVersion']}: a custom resource, no schema)")
    Path(out).write_text(yaml.safe_dump_all(kept, sort_keys=False))
    print(f"  {len(kept)} of {len(docs)} rendered objects written to {out}")
    return 0


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    command, args = argv[0], argv[1:]
    if command == "yaml":
        return cmd_yaml(args)
    if command == "consistency":
        return cmd_consistency()
    if command == "rules-sync":
        return cmd_rules_sync(write="--write" in args)
    if command == "dashboard" and len(args) == 1:
        return cmd_dashboard(args[0])
    if command == "core-kinds" and len(args) == 2:
        return cmd_core_kinds(args[0], args[1])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
