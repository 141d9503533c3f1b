#!/usr/bin/env bash
# Installs what the project needs, idempotently: a Python 3.11 virtual environment with the
# pinned requirements, and the pinned CDK CLI from npm. Re-runs only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "bootstrap: Python 3.11 is required (found $("$PYTHON" --version 2>&1))" >&2
  exit 2
fi
command -v npm >/dev/null 2>&1 || { echo "bootstrap: node 20 and npm are required" >&2; exit 2; }

if [ ! -x .venv/bin/python ]; then
  echo "bootstrap: creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
# The files requirements-dev.txt installs (the other requirements-*.txt have their own venvs),
# the monitor's image requirements included.
wanted=$(cat requirements.txt requirements-model.txt requirements-dev.txt \
  ml_constructs/drift_monitor/runtime/requirements.txt requirements-nodeps.txt \
  | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "bootstrap: installing Python requirements (first run takes a few minutes)"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
  # Without their dependencies: tf2onnx pins protobuf~=3.20, which conflicts with TensorFlow
  # 2.20's protobuf 6 (it runs on protobuf 6; see requirements-nodeps.txt).
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
    -r requirements-nodeps.txt
  echo "$wanted" >"$stamp"
fi

# checkov (security scanner of the synthesized templates) lives in its own environment: its
# pins conflict with the main environment's.
scripts/venv.sh .venv-checkov requirements-checkov.txt

npm_stamp=node_modules/.package-lock.sha256
npm_wanted=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat "$npm_stamp" 2>/dev/null)" != "$npm_wanted" ]; then
  echo "bootstrap: installing the CDK CLI (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_wanted" >"$npm_stamp"
fi
