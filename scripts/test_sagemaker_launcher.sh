#!/usr/bin/env bash
# Tests of the SageMaker training launcher (model_code/launch_training.py) in their own
# environment, .venv-sagemaker, with requirements-sagemaker.txt (the SageMaker SDK stays out
# of the main .venv). Creates or refreshes that environment when its requirements change.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-sagemaker
scripts/venv.sh "$VENV" requirements-sagemaker.txt

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
