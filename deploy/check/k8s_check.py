"""Offline checks of the deployment files; run by deploy/check/k8s.sh inside its venv.

1. Renders deploy/k8s/base and every overlay with a small kustomize subset (below), validates
   every object against the Kubernetes JSON schemas (kubernetes-validate, strict: unknown
   fields fail) for the oldest and newest Kubernetes versions we target, then checks what a
   schema cannot: probes, limits, security context, that each Deployment has its Service, HPA,
   PDB and NetworkPolicy, that every --…-url call is allowed by the NetworkPolicies on both
   sides and by runtime::tls::CALLERS (read from the Rust source), that each pod mounts its
   service's cert-manager certificate for mutual TLS (probes on the metrics port then), that env
   references resolve, and the overlays' replica bounds.
   Where a kubectl binary exists, `kubectl kustomize` must render the same objects.
2. Parses deploy/compose/compose.yaml: depends_on targets, bind-mounted files, named volumes,
   build context, variables documented in .env.example.
3. Parses deploy/prometheus/prometheus.yml and the Grafana provisioning, and checks they point
   at services and files that exist; checks the Dockerfile against .dockerignore and the pods'
   user id.

Prints one line per failure and exits 1 if there was any.
"""

from __future__ import annotations

import copy
import fnmatch
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
import kubernetes_validate

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
COMPOSE_DIR = ROOT / "deploy" / "compose"
PROMETHEUS = ROOT / "deploy" / "prometheus" / "prometheus.yml"
GRAFANA_PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"

# Oldest Kubernetes we promise to run on, and the newest the installed schemas know.
K8S_VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]

# What each overlay must end up with: (HPA minReplicas, HPA maxReplicas) for every service.
OVERLAY_BOUNDS = {"small": (1, 3), "large": (3, 20)}

# Every pod serves /metrics on this port only (http.metrics_listen), not on the API port 8080.
METRICS_PORT = 9090

SERVICES = ("gateway", "identity", "catalog", "inventory", "payments", "orders", "realtime", "analytics",
            "notifications")

# The call graph's one owner is the table services enforce under mutual TLS (ADR 0008).
CALLERS_SOURCE = ROOT / "crates" / "runtime" / "src" / "tls" / "callers.rs"


def read_callers() -> dict[str, set[str]]:
    """`runtime::tls::CALLERS` (callee → allowed callers), read from its Rust source."""
    table = re.search(r"pub const CALLERS: [^=]*= &\[(.*?)\n\];", CALLERS_SOURCE.read_text(), re.S)
    if not table:
        raise SystemExit(f"{CALLERS_SOURCE}: no CALLERS table found")
    return {callee: set(re.findall(r'"(\w+)"', callers))
            for callee, callers in re.findall(r'\("(\w+)",\s*&\[([^\]]*)\]\)', table.group(1))}


# Which pods may call each service's internal gRPC, and the realtime replicas' WebSockets (the
# `monitoring` namespace scrapes /metrics on METRICS_PORT). The gateway faces clients and admits
# everyone.
CALLERS = read_callers()

# Where every pod finds its certificate for mutual TLS between services (ADR 0008).
TLS_DIR = "/etc/mercato/tls"
TLS_ENV = {"MERCATO__SERVICES__TLS__CA": f"{TLS_DIR}/ca.crt", "MERCATO__SERVICES__TLS__CERT": f"{TLS_DIR}/tls.crt",
           "MERCATO__SERVICES__TLS__KEY": f"{TLS_DIR}/tls.key"}
# cert-manager's resources are no Kubernetes schema: what their specs may hold (cert-manager v1).
CERT_MANAGER_SPEC_KEYS = {
    "Issuer": {"selfSigned", "ca", "acme", "vault", "venafi"},
    "Certificate": {"secretName", "commonName", "dnsNames", "uris", "ipAddresses", "emailAddresses", "isCA",
                    "duration", "renewBefore", "usages", "privateKey", "issuerRef", "subject",
                    "secretTemplate", "revisionHistoryLimit"},
}

# The flags that point a process at a remote service, and the service each names.
URL_FLAGS = {"--identity-url": "identity", "--catalog-url": "catalog",
             "--inventory-url": "inventory", "--payments-url": "payments", "--orders-url": "orders",
             "--realtime-url": "realtime", "--analytics-url": "analytics",
             "--notifications-url": "notifications"}

failures: list[str] = []
passed = 0


def fail(msg: str) -> None:
    failures.append(msg)
    print(f"FAIL {msg}")


def ok(msg: str) -> None:
    global passed
    passed += 1
    print(f"ok   {msg}")


def rel(p: Path) -> str:
    return str(p.relative_to(ROOT))


def load_yaml_docs(path: Path) -> list:
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


# --- a kustomize subset -----------------------------------------------------------------------
# Supports what deploy/k8s uses: resources (files and directories), namespace, images, and
# patches (strategic merge, multi-document allowed, or JSON 6902 lists) with an optional
# target. Anything else fails loudly rather than rendering something kustomize would not.

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition",
                  "PersistentVolume", "StorageClass", "PriorityClass", "IngressClass"}
KUSTOMIZATION_KEYS = {"apiVersion", "kind", "namespace", "resources", "patches", "images"}
# Strategic merge: lists merged by key (as the Kubernetes OpenAPI patchMergeKey says); any
# other list is replaced whole.
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "imagePullSecrets": "name",
              "topologySpreadConstraints": "topologyKey"}
POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


class RenderError(Exception):
    pass


def render(directory: Path) -> list[dict]:
    kfile = directory / "kustomization.yaml"
    if not kfile.exists():
        raise RenderError(f"{rel(directory)}: no kustomization.yaml")
    k = yaml.safe_load(kfile.read_text()) or {}
    unknown = set(k) - KUSTOMIZATION_KEYS
    if unknown:
        raise RenderError(f"{rel(kfile)}: {sorted(unknown)} not supported by the offline renderer "
                          "(extend deploy/check/k8s_check.py)")
    objects: list[dict] = []
    for r in k.get("resources", []):
        p = (directory / r).resolve()
        if p.is_dir():
            objects += render(p)
        elif p.is_file():
            objects += load_yaml_docs(p)
        else:
            raise RenderError(f"{rel(kfile)}: resource {r} does not exist")
    for i, patch in enumerate(k.get("patches", [])):
        apply_patch(objects, patch, directory, f"{rel(kfile)} patches[{i}]")
    if "namespace" in k:
        for o in objects:
            if o["kind"] == "Namespace":
                o["metadata"]["name"] = k["namespace"]
            elif o["kind"] not in CLUSTER_SCOPED:
                o["metadata"]["namespace"] = k["namespace"]
    for image in k.get("images", []):
        set_image(objects, image)
    return objects


def matches(o: dict, target: dict, where: str) -> bool:
    unsupported = set(target) - {"kind", "name", "namespace", "group", "version"}
    if unsupported:
        raise RenderError(f"{where}: target fields {sorted(unsupported)} not supported")
    group, _, version = o["apiVersion"].rpartition("/")
    checks = {"kind": o["kind"], "name": o["metadata"]["name"],
              "namespace": o["metadata"].get("namespace", ""), "group": group, "version": version}
    # kustomize treats target strings as anchored regular expressions.
    return all(re.fullmatch(str(v), checks[f]) for f, v in target.items())


def apply_patch(objects: list[dict], spec: dict, directory: Path, where: str) -> None:
    if "path" in spec:
        text = (directory / spec["path"]).read_text()
    elif "patch" in spec:
        text = spec["patch"]
    else:
        raise RenderError(f"{where}: needs path or patch")
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    target = spec.get("target")
    if len(docs) == 1 and isinstance(docs[0], list):  # JSON 6902
        if not target:
            raise RenderError(f"{where}: a JSON 6902 patch needs a target")
        hit = [o for o in objects if matches(o, target, where)]
        if not hit:
            raise RenderError(f"{where}: target {target} matches nothing")
        for o in hit:
            for op in docs[0]:
                json6902(o, op, where)
        return
    for doc in docs:
        if not isinstance(doc, dict):
            raise RenderError(f"{where}: neither a strategic merge patch nor a JSON 6902 list")
        if target:
            hit = [o for o in objects if matches(o, target, where)]
        else:
            hit = [o for o in objects
                   if o["kind"] == doc.get("kind") and o["metadata"]["name"] == doc["metadata"]["name"]]
        if not hit:
            raise RenderError(f"{where}: {doc.get('kind')}/{doc['metadata']['name']} matches nothing")
        for o in hit:
            patched = strategic_merge(o, {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")},
                                      where)
            o.clear()
            o.update(patched)


def strategic_merge(base, patch, where: str, key: str = ""):
    if isinstance(patch, dict) and isinstance(base, dict):
        if any(k.startswith("$") for k in patch):
            raise RenderError(f"{where}: patch directives ({[k for k in patch if k.startswith('$')]}) "
                              "not supported")
        out = copy.deepcopy(base)
        for k, v in patch.items():
            if v is None:
                out.pop(k, None)
            elif k in out:
                out[k] = strategic_merge(out[k], v, where, k)
            else:
                out[k] = copy.deepcopy(v)
        return out
    if isinstance(patch, list) and isinstance(base, list):
        mk = MERGE_KEYS.get(key)
        if key == "ports":  # container ports merge on containerPort, Service ports on port
            mk = "containerPort" if any("containerPort" in p for p in base + patch) else "port"
        if mk is None:
            return copy.deepcopy(patch)
        out = copy.deepcopy(base)
        for item in patch:
            existing = [i for i, b in enumerate(out) if b.get(mk) == item.get(mk)]
            if existing:
                out[existing[0]] = strategic_merge(out[existing[0]], item, where, "")
            else:
                out.append(copy.deepcopy(item))
        return out
    return copy.deepcopy(patch)


def json6902(o: dict, op: dict, where: str) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].lstrip("/").split("/")]
    parent = o
    for p in parts[:-1]:
        parent = parent[int(p)] if isinstance(parent, list) else parent.get(p)
        if parent is None:
            raise RenderError(f"{where}: path {op['path']} does not exist in {kn(o)}")
    last = parts[-1]
    kind = op["op"]
    if kind in ("replace", "remove", "test"):
        exists = (int(last) < len(parent)) if isinstance(parent, list) else last in parent
        if not exists:
            raise RenderError(f"{where}: {kind} {op['path']}: no such field in {kn(o)}")
    if kind in ("add", "replace"):
        if isinstance(parent, list):
            if last == "-":
                parent.append(copy.deepcopy(op["value"]))
            elif kind == "add":
                parent.insert(int(last), copy.deepcopy(op["value"]))
            else:
                parent[int(last)] = copy.deepcopy(op["value"])
        else:
            parent[last] = copy.deepcopy(op["value"])
    elif kind == "remove":
        del parent[int(last) if isinstance(parent, list) else last]
    elif kind == "test":
        if (parent[int(last)] if isinstance(parent, list) else parent[last]) != op["value"]:
            raise RenderError(f"{where}: test {op['path']} failed on {kn(o)}")
    else:
        raise RenderError(f"{where}: JSON 6902 op {kind} not supported")


def set_image(objects: list[dict], image: dict) -> None:
    for o in objects:
        if o["kind"] not in POD_TEMPLATE_KINDS:
            continue
        spec = o["spec"]["template"]["spec"]
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            name = re.split(r"[@]", c["image"])[0]
            name = re.sub(r":[^/:]*$", "", name)
            if name != image["name"]:
                continue
            new = image.get("newName", name)
            if "digest" in image:
                new += "@" + image["digest"]
            elif "newTag" in image:
                new += ":" + str(image["newTag"])
            c["image"] = new


def kn(o: dict) -> str:
    return f"{o.get('kind')}/{o.get('metadata', {}).get('name')}"


# --- schema validation ------------------------------------------------------------------------

_validated: dict[str, str | None] = {}


def cert_manager_problem(o: dict) -> str | None:
    """What is wrong with a cert-manager object, checked by hand (no schema is installed)."""
    allowed = CERT_MANAGER_SPEC_KEYS.get(o.get("kind"))
    if allowed is None or o.get("apiVersion") != "cert-manager.io/v1":
        return f"unknown cert-manager kind {o.get('apiVersion')}/{o.get('kind')}"
    spec = o.get("spec") or {}
    if set(spec) - allowed:
        return f"unknown spec fields {sorted(set(spec) - allowed)}"
    if o["kind"] == "Certificate" and not (spec.get("secretName") and spec.get("issuerRef", {}).get("name")):
        return "a Certificate needs secretName and issuerRef.name"
    if o["kind"] == "Issuer" and len(spec) != 1:
        return "an Issuer has exactly one kind of issuer"
    return None


def schema_validate(o: dict, where: str) -> bool:
    """Strict schema validation against every version in K8S_VERSIONS; memoised per object."""
    if str(o.get("apiVersion", "")).startswith("cert-manager.io/"):
        problem = cert_manager_problem(o)
        if problem:
            fail(f"{where}: {kn(o)}: {problem}")
        return problem is None
    key = hashlib.sha256(json.dumps(o, sort_keys=True).encode()).hexdigest()
    if key not in _validated:
        err = None
        for v in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(o, v, strict=True)
            except kubernetes_validate.ValidationError as e:
                path = ".".join(str(p) for p in e.path)
                err = f"Kubernetes {v}: {path}: {e.message}"
                break
            except kubernetes_validate.SchemaNotFoundError as e:
                err = f"no schema (unknown kind/apiVersion): {e}"
                break
        _validated[key] = err
    if _validated[key]:
        fail(f"{where}: {kn(o)}: {_validated[key]}")
        return False
    return True


# --- what a schema cannot check ---------------------------------------------------------------

def pod_labels(d: dict) -> dict:
    return d["spec"]["template"]["metadata"].get("labels", {})


def selects(selector: dict, labels: dict) -> bool:
    if set(selector) - {"matchLabels"}:
        return False  # matchExpressions are not used here; treat as a mismatch to look at
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def semantic_checks(objects: list[dict], where: str, overlay: str | None, uid: int | None) -> None:
    by_kind: dict[str, list[dict]] = {}
    for o in objects:
        by_kind.setdefault(o["kind"], []).append(o)
    names = [(o["kind"], o["metadata"]["name"]) for o in objects]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        fail(f"{where}: duplicate objects {sorted(dupes)}")
    secrets = {o["metadata"]["name"]: set(o.get("stringData", {})) | set(o.get("data", {}))
               for o in by_kind.get("Secret", [])}
    configmaps = {o["metadata"]["name"]: set(o.get("data", {})) for o in by_kind.get("ConfigMap", [])}
    services = by_kind.get("Service", [])
    policies = by_kind.get("NetworkPolicy", [])
    problems: list[str] = []

    def need(cond: bool, msg: str) -> None:
        if not cond:
            problems.append(msg)

    deny = [p for p in policies if p["spec"].get("podSelector") == {}
            and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    need(bool(deny), "no default-deny NetworkPolicy (podSelector {}, Ingress+Egress, no rules)")

    deployments = {d["metadata"]["name"]: d for d in by_kind.get("Deployment", [])}
    need(set(deployments) == set(SERVICES), f"Deployments {sorted(deployments)} != {sorted(SERVICES)}")
    calls: list[tuple[str, str, str, str]] = []  # (caller, callee, where, flag)
    for name, d in deployments.items():
        w = f"Deployment/{name}"
        labels = pod_labels(d)
        need(selects(d["spec"]["selector"], labels), f"{w}: selector does not match its pod labels")
        pod = d["spec"]["template"]["spec"]
        psc = pod.get("securityContext", {})
        need(pod.get("terminationGracePeriodSeconds", 30) >= 30, f"{w}: terminationGracePeriodSeconds < 30")
        need(pod.get("automountServiceAccountToken") is False, f"{w}: service account token mounted")
        if uid is not None:
            need(psc.get("runAsUser") == uid, f"{w}: runAsUser {psc.get('runAsUser')} != the image's USER {uid}")
        ann = d["spec"]["template"]["metadata"].get("annotations", {})
        need(ann.get("prometheus.io/scrape") == "true", f"{w}: no prometheus.io/scrape annotation")
        for c in pod["containers"]:
            cw = f"{w} container {c['name']}"
            ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
            need(str(ann.get("prometheus.io/port")) in {str(p) for p in ports.values()},
                 f"{cw}: prometheus.io/port is not a container port")
            for probe, path in (("startupProbe", "/healthz"), ("livenessProbe", "/healthz"),
                                ("readinessProbe", "/readyz")):
                p = c.get(probe)
                need(bool(p), f"{cw}: no {probe}")
                if p:
                    get = p.get("httpGet", {})
                    need(get.get("path") == path, f"{cw}: {probe} should GET {path}")
                    need(get.get("port") in ports or get.get("port") in ports.values(),
                         f"{cw}: {probe} port {get.get('port')} is not a container port")
            res = c.get("resources", {})
            for kind in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    need(r in res.get(kind, {}), f"{cw}: no {kind}.{r}")
            csc = c.get("securityContext", {})
            need(csc.get("allowPrivilegeEscalation") is False, f"{cw}: allowPrivilegeEscalation not false")
            need(csc.get("readOnlyRootFilesystem") is True, f"{cw}: root filesystem writable")
            need("ALL" in csc.get("capabilities", {}).get("drop", []), f"{cw}: capabilities not dropped")
            need(csc.get("runAsNonRoot", psc.get("runAsNonRoot")) is True, f"{cw}: runAsNonRoot not set")
            seccomp = csc.get("seccompProfile", psc.get("seccompProfile", {}))
            need(seccomp.get("type") == "RuntimeDefault", f"{cw}: seccomp not RuntimeDefault")
            need(bool(c.get("lifecycle", {}).get("preStop")), f"{cw}: no preStop hook")
            need_tls(c, pod, name, cw, by_kind.get("Certificate", []), need)
            args = c.get("args", [])
            need(f"--roles" in args and args[args.index("--roles") + 1] == name,
                 f"{cw}: args do not run --roles {name}")
            for flag, callee in URL_FLAGS.items():
                if flag in args:
                    for url in args[args.index(flag) + 1].split(","):
                        host = re.sub(r"^https?://([^:/]+).*", r"\1", url)
                        need(url.startswith("https://"), f"{cw}: {flag} {url}: internal calls are https (mutual TLS)")
                        need(host in {s["metadata"]["name"] for s in services},
                             f"{cw}: {flag} host {host} is no Service here")
                    calls.append((name, callee, cw, flag))
            for e in c.get("env", []):
                # Endpoints go in the --…-url flags, where the checks above see them; one set
                # through the environment would escape the NetworkPolicy checks below.
                svc_var = re.fullmatch(r"MERCATO__SERVICES__([A-Z]+)", e.get("name", ""))
                need(not (svc_var and f"--{svc_var.group(1).lower()}-url" in URL_FLAGS),
                     f"{cw}: env {e.get('name')}: give the endpoint as --{svc_var.group(1).lower() if svc_var else ''}-url "
                     "instead, so the NetworkPolicy checks see the call")
                ref = e.get("valueFrom", {})
                for kind, pool in (("secretKeyRef", secrets), ("configMapKeyRef", configmaps)):
                    if kind in ref and not ref[kind].get("optional"):
                        r = ref[kind]
                        need(r["key"] in pool.get(r["name"], set()),
                             f"{cw}: env {e['name']} refers to missing {kind} {r['name']}/{r['key']}")
            if overlay:
                need(c["image"] != "mercato" and not c["image"].endswith(":latest"),
                     f"{cw}: image {c['image']} is not pinned to a registry and tag")
        svc = [s for s in services if s["spec"].get("selector")
               and selects({"matchLabels": s["spec"]["selector"]}, labels)]
        need(len(svc) == 1, f"{w}: {len(svc)} Services select its pods (want 1)")
        for s in svc:
            for p in s["spec"]["ports"]:
                tp = p.get("targetPort", p["port"])
                need(any(tp in (q.get("name"), q["containerPort"])
                         for c in pod["containers"] for q in c.get("ports", [])),
                     f"Service/{s['metadata']['name']}: targetPort {tp} is no container port")
        hpa = [h for h in by_kind.get("HorizontalPodAutoscaler", [])
               if h["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}]
        need(len(hpa) == 1, f"{w}: {len(hpa)} HPAs target it (want 1)")
        for h in hpa:
            lo, hi = h["spec"].get("minReplicas", 1), h["spec"]["maxReplicas"]
            need(lo <= hi, f"HPA/{name}: minReplicas {lo} > maxReplicas {hi}")
            need(any(m.get("resource", {}).get("name") == "cpu" for m in h["spec"].get("metrics", [])),
                 f"HPA/{name}: no CPU metric")
            if overlay in OVERLAY_BOUNDS:
                need((lo, hi) == OVERLAY_BOUNDS[overlay],
                     f"HPA/{name}: {lo}-{hi} replicas, overlay {overlay} wants {OVERLAY_BOUNDS[overlay]}")
                need(lo <= d["spec"].get("replicas", 1) <= hi,
                     f"{w}: replicas {d['spec'].get('replicas')} outside its HPA's {lo}-{hi}")
        pdb = [p for p in by_kind.get("PodDisruptionBudget", []) if selects(p["spec"]["selector"], labels)]
        need(len(pdb) == 1, f"{w}: {len(pdb)} PodDisruptionBudgets select its pods (want 1)")
        own = [p for p in policies if p["spec"].get("podSelector") and selects(p["spec"]["podSelector"], labels)]
        need(bool(own), f"{w}: no NetworkPolicy of its own")
        # /metrics has its own port (http.metrics_listen), open to the monitoring namespace only.
        scrape = [p for p in own
                  if {q.get("port") for r in p["spec"].get("ingress", []) for q in r.get("ports", [])}
                  <= {METRICS_PORT, "metrics"}]
        need(bool(scrape), f"{w}: no NetworkPolicy admits scraping on port {METRICS_PORT}")
        for p in scrape:
            for r in p["spec"].get("ingress", []):
                need(r.get("from") == [{"namespaceSelector": {"matchLabels": {
                    "kubernetes.io/metadata.name": "monitoring"}}}],
                     f"NetworkPolicy/{p['metadata']['name']}: metrics port open beyond the monitoring namespace")
        need(str(ann.get("prometheus.io/port")) == str(METRICS_PORT),
             f"{w}: prometheus.io/port is not the metrics port {METRICS_PORT}")
        for p in own:
            if p in scrape:
                continue
            ingress_ports = {q.get("port") for r in p["spec"].get("ingress", []) for q in r.get("ports", [])}
            need(8080 in ingress_ports or "http" in ingress_ports,
                 f"NetworkPolicy/{p['metadata']['name']}: port 8080 not open for ingress")
            if name != "gateway":
                # Internal gRPC: admitted only from its callers' pods (and the monitoring
                # namespace).
                for r in p["spec"].get("ingress", []):
                    sources = r.get("from", [])
                    need(bool(sources), f"NetworkPolicy/{p['metadata']['name']}: ingress open to everyone")
                    for src in sources:
                        need(src.get("podSelector", {}).get("matchLabels", {})
                             .get("app.kubernetes.io/component") in CALLERS.get(name, set())
                             or "namespaceSelector" in src and "podSelector" not in src,
                             f"NetworkPolicy/{p['metadata']['name']}: unexpected ingress source {src}")
    # Every --…-url a process is given must be a call its callee is meant to take, that the
    # callee's policies admit and the caller's own egress allows; otherwise it fails at run
    # time only, and only where an enforcing CNI is installed.
    for caller, callee, cw, flag in calls:
        if callee not in deployments or caller not in deployments:
            continue
        need(caller in CALLERS.get(callee, set()),
             f"{cw}: {flag}: {caller} is not among {callee}'s callers {sorted(CALLERS.get(callee, set()))}")
        caller_labels, callee_labels = pod_labels(deployments[caller]), pod_labels(deployments[callee])
        own_in = [p for p in policies if p["spec"].get("podSelector") and selects(p["spec"]["podSelector"], callee_labels)]
        own_out = [p for p in policies if p["spec"].get("podSelector") and selects(p["spec"]["podSelector"], caller_labels)]
        need(any(not r.get("from") or any("podSelector" in src and "namespaceSelector" not in src
                                           and selects(src["podSelector"], caller_labels)
                                           for src in r["from"])
                 for p in own_in for r in p["spec"].get("ingress", [])),
             f"{cw}: {flag}: no NetworkPolicy of {callee} admits {caller} pods")
        need(any(any("podSelector" in dst and "namespaceSelector" not in dst
                      and selects(dst["podSelector"], callee_labels) for dst in r.get("to", []))
                 and any(q.get("port") in (8080, "http") for q in r.get("ports", []))
                 for p in own_out for r in p["spec"].get("egress", [])),
             f"{cw}: {flag}: no NetworkPolicy of {caller} allows egress to {callee} pods :8080")
    problems += ingress_problems(by_kind.get("Ingress", []), services, deployments.get("gateway"))
    if problems:
        for p in problems:
            fail(f"{where}: {p}")
    else:
        ok(f"{where}: probes, resources, security context, Service/HPA/PDB/NetworkPolicy per Deployment, "
           "the Ingress")


# The realtime server's WebSocket heartbeat: a proxy's idle timeout must be longer.
HEARTBEAT_SECONDS = 25


def need_tls(c: dict, pod: dict, name: str, cw: str, certificates: list[dict], need) -> None:
    """The container has its service's certificate: the TLS settings point into the mounted
    Secret of a Certificate naming `<name>.mercato.internal` for server and client auth, and,
    where the API port speaks mutual TLS (every service but the gateway), the probes use the
    metrics port, since kubelet presents no client certificate."""
    env = {e.get("name"): e.get("value") for e in c.get("env", [])}
    need(all(env.get(k) == v for k, v in TLS_ENV.items()), f"{cw}: MERCATO__SERVICES__TLS__* not {TLS_ENV}")
    mounts = {m["name"]: m for m in c.get("volumeMounts", []) if m.get("mountPath") == TLS_DIR}
    volumes = [v for v in pod.get("volumes", []) if v["name"] in mounts]
    secret = volumes[0].get("secret", {}).get("secretName") if volumes else None
    need(secret == f"mercato-tls-{name}", f"{cw}: {TLS_DIR} is not the Secret mercato-tls-{name}")
    cert = [x for x in certificates if x["spec"].get("secretName") == secret]
    need(len(cert) == 1, f"{cw}: no Certificate issues the Secret {secret}")
    for x in cert:
        need(x["spec"].get("dnsNames") == [f"{name}.mercato.internal"],
             f"Certificate/{x['metadata']['name']}: dnsNames must be [{name}.mercato.internal]")
        need({"server auth", "client auth"} <= set(x["spec"].get("usages", [])),
             f"Certificate/{x['metadata']['name']}: usages need server auth and client auth")
    if name != "gateway":
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            port = (c.get(probe) or {}).get("httpGet", {}).get("port")
            need(port in ("metrics", METRICS_PORT), f"{cw}: {probe} on port {port}: the API port speaks mutual TLS")


def ingress_problems(ingresses: list[dict], services: list[dict], gateway: dict | None) -> list[str]:
    """One Ingress, with a class and TLS for every host, routing only to the gateway Service's
    port, with proxy timeouts above the WebSocket heartbeat; and the gateway believes forwarded
    addresses only from configured proxies."""
    problems = []
    if len(ingresses) != 1:
        return [f"{len(ingresses)} Ingresses (want 1, in front of the gateway Service)"]
    ing = ingresses[0]
    iw, spec = f"Ingress/{ing['metadata']['name']}", ing["spec"]
    annotations = ing["metadata"].get("annotations", {})
    if not spec.get("ingressClassName"):
        problems.append(f"{iw}: no ingressClassName")
    tls_hosts = {h for t in spec.get("tls", []) if t.get("secretName") for h in t.get("hosts", [])}
    gateway_ports = [p for s in services if s["metadata"]["name"] == "gateway" for p in s["spec"]["ports"]]
    for rule in spec.get("rules", []):
        if rule.get("host") not in tls_hosts:
            problems.append(f"{iw}: host {rule.get('host')} has no TLS secret")
        for path in rule.get("http", {}).get("paths", []):
            backend = path["backend"].get("service", {})
            port = backend.get("port", {})
            if backend.get("name") != "gateway" or not any(
                    port.get("name") == p.get("name") or port.get("number") == p["port"] for p in gateway_ports):
                problems.append(f"{iw}: path {path.get('path')} routes to {backend}, not the gateway Service's port")
    for key in ("proxy-read-timeout", "proxy-send-timeout"):
        value = annotations.get(f"nginx.ingress.kubernetes.io/{key}", "60")
        if not str(value).isdigit() or int(value) <= HEARTBEAT_SECONDS:
            problems.append(f"{iw}: {key} {value} s does not exceed the {HEARTBEAT_SECONDS} s WebSocket heartbeat")
    env = [e["name"] for c in (gateway or {}).get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
           for e in c.get("env", [])]
    if "MERCATO__HTTP__TRUSTED_PROXIES" not in env:
        problems.append("Deployment/gateway: no MERCATO__HTTP__TRUSTED_PROXIES, so behind the Ingress every "
                        "client counts as the controller's address")
    return problems


def kubectl_cross_check(directory: Path, ours: list[dict], where: str) -> None:
    kubectl = shutil.which("kubectl")
    if not kubectl:
        print(f"skip {where}: no kubectl here, so the renderer is not compared with kustomize")
        return
    try:
        out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True,
                             timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"skip {where}: kubectl kustomize did not run ({e})")
        return
    if out.returncode != 0:
        fail(f"{where}: kubectl kustomize failed: {out.stderr.strip()}")
        return
    theirs = [d for d in yaml.safe_load_all(out.stdout) if d]

    def keyed(objs):
        return {(o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]):
                json.dumps(o, sort_keys=True) for o in objs}

    a, b = keyed(ours), keyed(theirs)
    diff = sorted({k for k in set(a) | set(b) if a.get(k) != b.get(k)}, key=str)
    if diff:
        fail(f"{where}: offline renderer and kubectl kustomize differ on {diff}")
    else:
        ok(f"{where}: kubectl kustomize renders the same {len(b)} objects")


def check_k8s(uid: int | None) -> None:
    # Every complete manifest file on its own (patch files are partial: checked once rendered).
    patch_files = set()
    for kfile in K8S.rglob("kustomization.yaml"):
        k = yaml.safe_load(kfile.read_text()) or {}
        patch_files |= {(kfile.parent / p["path"]).resolve() for p in k.get("patches", []) if "path" in p}
    for f in sorted(K8S.rglob("*.yaml")):
        if f.name == "kustomization.yaml" or f.resolve() in patch_files:
            continue
        try:
            docs = load_yaml_docs(f)
        except yaml.YAMLError as e:
            fail(f"{rel(f)}: not YAML: {e}")
            continue
        if all(schema_validate(d, rel(f)) for d in docs):
            ok(f"{rel(f)}: {len(docs)} objects valid (strict) for Kubernetes {', '.join(K8S_VERSIONS)}")

    targets = [("base", K8S / "base", None)] + [
        (f"overlays/{d.name}", d, d.name) for d in sorted((K8S / "overlays").iterdir()) if d.is_dir()]
    seen = {t[2] for t in targets if t[2]}
    for missing in sorted(set(OVERLAY_BOUNDS) - seen):
        fail(f"deploy/k8s/overlays/{missing} is missing")
    for label, directory, overlay in targets:
        where = f"k8s {label}"
        try:
            objects = render(directory)
        except (RenderError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
            fail(f"{where}: cannot render: {e}")
            continue
        if all([schema_validate(o, where) for o in objects]):
            ok(f"{where}: renders {len(objects)} objects, all valid (strict) for Kubernetes "
               f"{', '.join(K8S_VERSIONS)}")
        semantic_checks(objects, where, overlay, uid)
        kubectl_cross_check(directory, objects, where)


# --- compose, Prometheus, Grafana, Dockerfile ---------------------------------------------------

VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])[^}]*)?\}")


def check_compose() -> dict:
    path = COMPOSE_DIR / "compose.yaml"
    where = rel(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as e:
        fail(f"{where}: cannot parse: {e}")
        return {}
    services = doc.get("services", {})
    named_volumes = set((doc.get("volumes") or {}).keys())
    problems: list[str] = []
    host_ports: dict[str, str] = {}
    for name, s in services.items():
        deps = s.get("depends_on", {})
        for dep in (deps if isinstance(deps, list) else deps.keys()):
            if dep not in services:
                problems.append(f"{name}: depends_on {dep}, which is no service")
                continue
            cond = deps[dep].get("condition") if isinstance(deps, dict) else None
            hc = services[dep].get("healthcheck", {})
            if cond == "service_healthy" and (not hc or hc.get("disable")):
                problems.append(f"{name}: waits for {dep} to be healthy, but {dep} has no healthcheck")
        for v in s.get("volumes", []):
            if isinstance(v, dict):
                source, kind = v.get("source", ""), v.get("type")
            else:
                source = v.split(":")[0]
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            if kind == "bind":
                if not (COMPOSE_DIR / source).exists():
                    problems.append(f"{name}: mounts {source}, which does not exist")
            elif source and source not in named_volumes:
                problems.append(f"{name}: volume {source} is not declared under volumes:")
        build = s.get("build")
        if build:
            ctx = COMPOSE_DIR / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = ctx / (build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile")
            if not dockerfile.is_file():
                problems.append(f"{name}: build file {dockerfile} does not exist")
        for p in s.get("ports", []):
            host = str(p).rsplit(":", 1)[0] if ":" in str(p) else None
            if host and host in host_ports:
                problems.append(f"{name}: host port {host} already published by {host_ports[host]}")
            elif host:
                host_ports[host] = name
    # Every variable compose substitutes must be explained in .env.example.
    example = COMPOSE_DIR / ".env.example"
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example.read_text(), re.M)) if example.exists() else set()
    if not example.exists():
        problems.append(".env.example is missing")
    for var in sorted({m.group(1) for m in VAR.finditer(path.read_text())} - documented):
        problems.append(f"${{{var}}} is not documented in .env.example")
    nats_conf = COMPOSE_DIR / "nats.conf"
    if nats_conf.exists() and not re.search(r"^\s*sync_interval:\s*always\s*$", nats_conf.read_text(), re.M):
        problems.append("nats.conf: JetStream must fsync every write (sync_interval: always)")
    if problems:
        for p in problems:
            fail(f"{where}: {p}")
    else:
        ok(f"{where}: {len(services)} services; depends_on, mounts, volumes, build, ports and variables hold")
    return services


def check_prometheus(services: dict) -> None:
    where = rel(PROMETHEUS)
    try:
        doc = yaml.safe_load(PROMETHEUS.read_text())
    except (OSError, yaml.YAMLError) as e:
        fail(f"{where}: cannot parse: {e}")
        return
    problems = []
    for pattern in doc.get("rule_files", []):
        found = glob.glob(str(PROMETHEUS.parent / pattern))
        if not found:
            problems.append(f"rule_files {pattern}: no such file")
        for f in found:
            try:
                rules = yaml.safe_load(Path(f).read_text())
                if not isinstance(rules, dict) or not isinstance(rules.get("groups"), list):
                    problems.append(f"{pattern}: no 'groups' list")
            except yaml.YAMLError as e:
                problems.append(f"{pattern}: not YAML: {e}")
    scraped: dict[str, str] = {}
    for job in doc.get("scrape_configs", []):
        for sc in job.get("static_configs", []):
            for t in sc.get("targets", []):
                host = t.rsplit(":", 1)[0]
                if host != "localhost" and host not in services:
                    problems.append(f"job {job['job_name']}: target {t} is no compose service")
                if "service" in sc.get("labels", {}):
                    problems.append(f"job {job['job_name']}: a `service` target label would clash "
                                    "with the metrics' own")
                scraped[host] = job["job_name"]
    # Every Mercato process in compose is scraped by the job named after its role.
    for name, s in services.items():
        cmd = s.get("command") or []
        if isinstance(cmd, list) and cmd[:1] == ["serve"] and "--roles" in cmd:
            role = cmd[cmd.index("--roles") + 1]
            if name not in scraped:
                problems.append(f"compose service {name} (--roles {role}) is not scraped")
            elif scraped[name] != role:
                problems.append(f"target {name} is in job {scraped[name]}, but runs --roles {role}")
    if problems:
        for p in problems:
            fail(f"{where}: {p}")
    else:
        ok(f"{where}: parses; rule files exist; every Mercato process scraped in the job of its role")


def check_grafana(services: dict) -> None:
    problems = []
    files = sorted(GRAFANA_PROVISIONING.rglob("*.y*ml"))
    if not files:
        problems.append("no provisioning files")
    grafana = services.get("grafana", {})
    mounts = {}
    for v in grafana.get("volumes", []):
        if isinstance(v, str) and v.startswith((".", "/")):
            src, dst = v.split(":")[:2]
            mounts[dst] = COMPOSE_DIR / src
    for f in files:
        try:
            doc = yaml.safe_load(f.read_text())
        except yaml.YAMLError as e:
            problems.append(f"{rel(f)}: not YAML: {e}")
            continue
        for ds in doc.get("datasources", []):
            host = re.sub(r"^https?://([^:/]+).*", r"\1", ds.get("url", ""))
            if host not in services:
                problems.append(f"{rel(f)}: datasource {ds.get('name')} points at {host}, no compose service")
        for p in doc.get("providers", []):
            path = p.get("options", {}).get("path", "")
            if path not in mounts:
                problems.append(f"{rel(f)}: provider path {path} is not mounted into grafana")
            elif not mounts[path].is_dir():
                problems.append(f"{rel(f)}: {path} comes from {mounts[path]}, which is no directory")
    if problems:
        for p in problems:
            fail(f"grafana provisioning: {p}")
    else:
        ok(f"grafana provisioning: {len(files)} files parse; datasources and dashboard paths resolve")


def check_dockerfile() -> int | None:
    path = ROOT / "Dockerfile"
    if not path.exists():
        fail("Dockerfile is missing")
        return None
    text = path.read_text()
    ignore = [l.strip().rstrip("/") for l in (ROOT / ".dockerignore").read_text().splitlines()
              if l.strip() and not l.startswith("#")] if (ROOT / ".dockerignore").exists() else []
    problems = []
    for m in re.finditer(r"^COPY\s+(?!--from)(.+)$", text, re.M):
        for src in m.group(1).split()[:-1]:
            if not (ROOT / src).exists():
                problems.append(f"COPY {src}: does not exist")
            if any(fnmatch.fnmatch(src, pat) or src == pat for pat in ignore):
                problems.append(f"COPY {src}: excluded by .dockerignore")
    for must in ("target", "data", ".git"):
        if must not in ignore:
            problems.append(f".dockerignore does not exclude {must}/")
    users = re.findall(r"^USER\s+(\d+)", text, re.M)
    if not users:
        problems.append("no numeric USER (Kubernetes' runAsNonRoot needs one)")
    if not re.search(r'^ENTRYPOINT \["mercato"\]', text, re.M):
        problems.append('ENTRYPOINT is not ["mercato"]')
    if not re.search(r"^EXPOSE 8080", text, re.M):
        problems.append("no EXPOSE 8080")
    if problems:
        for p in problems:
            fail(f"Dockerfile: {p}")
    else:
        ok("Dockerfile: COPY sources exist and are not ignored; numeric non-root USER; entrypoint")
    return int(users[-1]) if users else None


def main() -> int:
    uid = check_dockerfile()
    services = check_compose()
    check_prometheus(services)
    check_grafana(services)
    check_k8s(uid)
    print(f"deploy check: {passed} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
