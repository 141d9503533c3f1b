#!/usr/bin/env bash
# Creates or refreshes a Python 3.11 virtual environment from a pinned requirements file, only
# when that file changed: scripts/venv.sh VENV_DIR REQUIREMENTS_FILE
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="$1"
REQUIREMENTS="$2"

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x "$VENV/bin/python" ]; then
  echo "venv: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
wanted=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "venv: installing $REQUIREMENTS into $VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$wanted" >"$stamp"
fi
