#!/usr/bin/env bash
# Tests of the SageMaker training launcher (model_code/launch_training.py) in their own
# environment, .venv-sagemaker, with requirements-sagemaker.txt (the SageMaker SDK stays out
# of the main .venv). Creates or refreshes that environment when its requirements change.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
VENV=.venv-sagemaker
if [ ! -x "$VENV/bin/python" ]; then
  echo "test_sagemaker_launcher: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.requirements.sha256"
wanted=$(sha256sum requirements-sagemaker.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "test_sagemaker_launcher: installing requirements-sagemaker.txt (takes a few minutes)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-sagemaker.txt
  echo "$wanted" >"$stamp"
fi

export PYTHONDONTWRITEBYTECODE=1
set +e
"$VENV/bin/python" -m pytest -p no:cacheprovider tests/sagemaker_launcher "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test_sagemaker_launcher: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$status"
