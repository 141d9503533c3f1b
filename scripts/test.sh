#!/usr/bin/env bash
# The whole test suite: install, lint, format check, types, layering, then pytest.
# Fails on any failure, and when pytest collects or runs no test (its exit code 5).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh

step() { printf '\n==> %s\n' "$*"; }
step "ruff check"; .venv/bin/ruff check .
step "ruff format --check"; .venv/bin/ruff format --check .
step "mypy"; .venv/bin/mypy .
step "import-linter (layering contracts)"; .venv/bin/lint-imports
step "pytest"
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
  echo "test.sh: pytest collected no tests; that is a failure" >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  exit "$status"
fi
step "SageMaker training launcher (own environment: .venv-sagemaker)"
scripts/test_sagemaker_launcher.sh -q
