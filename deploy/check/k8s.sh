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

stamp="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$VENV/.requirements-sha256" 2>/dev/null)" != "$stamp" ]; then
  echo "== venv: installing $(grep -c '^[A-Za-z]' "$REQUIREMENTS") pinned packages into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$REQUIREMENTS"
  echo "$stamp" >"$VENV/.requirements-sha256"
else
  echo "== venv: reusing $VENV"
fi

status=0
echo "== shell syntax"
for f in "$ROOT"/deploy/compose/postgres/*.sh; do
  if bash -n "$f"; then echo "ok   ${f#"$ROOT"/}: bash -n"; else echo "FAIL ${f#"$ROOT"/}: bash -n"; status=1; fi
done

echo "== manifests, compose, Prometheus, Grafana, Dockerfile"
"$VENV/bin/python" "$HERE/k8s_check.py" || status=1

echo "deploy check finished in $(( $(date +%s) - started )) s"
exit "$status"
