# Sourced by the checks under deploy/check: `pinned_venv DIR REQUIREMENTS` makes DIR a Python
# venv holding exactly the pinned packages of REQUIREMENTS, rebuilt only when that file changes
# (its SHA-256 is kept in DIR/.requirements-sha256). Needs python3 and, once, PyPI.
pinned_venv() {
  local venv="$1" requirements="$2" stamp
  stamp="$(sha256sum "$requirements" | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.requirements-sha256" 2>/dev/null)" != "$stamp" ]; then
    echo "== venv: installing $(grep -c '^[A-Za-z]' "$requirements") pinned packages into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$stamp" >"$venv/.requirements-sha256"
  else
    echo "== venv: reusing $venv"
  fi
}
