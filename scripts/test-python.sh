#!/usr/bin/env bash
# Makes (once, and again only when scripts/test-python-requirements.txt changes) the Python venv
# the tests' real servers run in — aiosmtpd for the SMTP server, standardwebhooks for the webhook
# receiver — and prints the line that points the tests at it:
#
#   eval "$(bash scripts/test-python.sh)"     # then: cargo test …
#
# The venv lives in ${XDG_CACHE_HOME:-$HOME/.cache}/mercato-test-venv. Progress goes to standard
# error, so that standard output is only the `export` line. Needs python3 (with venv) and, the
# first time, the package index.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=../deploy/check/venv.sh
source "$ROOT/deploy/check/venv.sh"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/mercato-test-venv"
pinned_venv "$VENV" "$ROOT/scripts/test-python-requirements.txt" >&2
"$VENV/bin/python" -c 'import aiosmtpd, standardwebhooks' >&2
printf 'export MERCATO_TEST_PYTHON=%q\n' "$VENV/bin/python"
