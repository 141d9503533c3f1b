#!/usr/bin/env bash
# The main job on the embedded default. Until the local rehearsal lands, it synthesizes
# every environment and prints the security-check summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh
if [ -f rehearsal/__main__.py ]; then
  exec .venv/bin/python -m rehearsal "$@"
fi
exec .venv/bin/python -m deploy_tools.synth_report "$@"
