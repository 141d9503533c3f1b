#!/usr/bin/env bash
# Runs a command with the credentials of an IAM role (a pipeline step's way into a target
# account): scripts/as_role.sh ROLE_ARN COMMAND [ARGS...]
# boto3 and the AWS CLI assume the role themselves through a profile whose credential_source is
# the build container's own role (CodeBuild: EcsContainer; elsewhere set CREDENTIAL_SOURCE to
# Environment or Ec2InstanceMetadata), in AWS_REGION, and refresh it when it expires.
set -euo pipefail
if [ "$#" -lt 2 ]; then
  echo "usage: scripts/as_role.sh ROLE_ARN COMMAND [ARGS...]" >&2
  exit 2
fi
role_arn="$1"
shift
if ! [[ "$role_arn" =~ ^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]+$ ]]; then
  echo "as_role: '$role_arn' is not an IAM role ARN" >&2
  exit 2
fi
config="$(mktemp)"
trap 'rm -f "$config"' EXIT
cat >"$config" <<CONFIG
[profile as-role]
role_arn = $role_arn
role_session_name = ${ROLE_SESSION_NAME:-pipeline-step}
credential_source = ${CREDENTIAL_SOURCE:-EcsContainer}
region = ${AWS_REGION:?as_role: AWS_REGION must name the target region}
CONFIG
AWS_CONFIG_FILE="$config" AWS_PROFILE=as-role "$@"
