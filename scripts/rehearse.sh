#!/usr/bin/env bash
# The main job on the embedded default: the local rehearsal. Trains the model, synthesizes
# the app, deploys both stacks into moto on 127.0.0.1, serves the real model, predicts
# through the deployed function, promotes a second model and rejects a corrupt one.
# Flags go to `python -m rehearsal` (e.g. --keep-running, --retrain; --help lists them).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
# shellcheck source=scripts/env.sh
. scripts/env.sh
exec .venv/bin/python -m rehearsal "$@"
