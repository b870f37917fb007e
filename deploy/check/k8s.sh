#!/usr/bin/env bash
# Offline validation of the deployment files: Kubernetes manifests (base and overlays, against
# the Kubernetes schemas), compose, Prometheus and Grafana provisioning, Dockerfile. Needs
# python3 and, once, PyPI; no Docker, no cluster, no kubectl (used as a cross-check when
# present). Exits non-zero and names what failed.
#
#   bash deploy/check/k8s.sh
#
# The venv lives in ${XDG_CACHE_HOME:-$HOME/.cache}/mercato-ci-venv and is rebuilt only when
# deploy/check/k8s-requirements.txt changes.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/mercato-ci-venv"
REQUIREMENTS="$HERE/k8s-requirements.txt"
started=$(date +%s)

# shellcheck source=deploy/check/venv.sh
source "$HERE/venv.sh"
pinned_venv "$VENV" "$REQUIREMENTS"

status=0
echo "== shell syntax"
for f in "$ROOT"/deploy/compose/postgres/*.sh; do
  if bash -n "$f"; then echo "ok   ${f#"$ROOT"/}: bash -n"; else echo "FAIL ${f#"$ROOT"/}: bash -n"; status=1; fi
done

echo "== manifests, compose, Prometheus, Grafana, Dockerfile"
"$VENV/bin/python" "$HERE/k8s_check.py" || status=1

echo "== NGINX load balancer (compose)"
bash "$HERE/nginx.sh" || status=1

echo "deploy check finished in $(( $(date +%s) - started )) s"
exit "$status"
