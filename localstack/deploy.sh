#!/usr/bin/env bash
# Deploys driftline to a running LocalStack with cdklocal (aws-cdk-local): the same CDK app and template as
# `cdk deploy` to AWS; cdklocal only points the CDK CLI at LocalStack (AWS_ENDPOINT_URL and
# AWS_ENDPOINT_URL_S3 on localhost.localstack.cloud:4566, credentials test/test, account 000000000000).
#
# Usage: npm run deploy:localstack [-- STACK_NAME]     (default: $STACK_NAME, else Driftline)
# Environment: AWS_REGION (default us-east-1; smoke.ts reads the same), EDGE_PORT (default 4566).
set -euo pipefail

stack="${1:-${STACK_NAME:-Driftline}}"
region="${AWS_REGION:-us-east-1}"
health_url="http://localhost:${EDGE_PORT:-4566}/_localstack/health"
# LocalStack's account for the credentials cdklocal sets (access key "test").
account="000000000000"

cd "$(dirname "$0")/.."

if ! command -v curl >/dev/null; then
  echo "deploy.sh needs curl to check that LocalStack is up" >&2
  exit 1
fi
if ! health="$(curl --silent --show-error --fail --max-time 5 "$health_url" 2>&1)"; then
  echo "LocalStack does not answer at $health_url ($health)." >&2
  echo "Start it first: docker compose -f localstack/docker-compose.yml up -d   (see localstack/README.md)" >&2
  exit 1
fi
version="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' <<<"$health")"
echo "LocalStack ${version:-(unknown version)} is up; deploying stack $stack to $region"

# cdklocal sends the CDK CLI to localhost.localstack.cloud, a public DNS name (with subdomains) for 127.0.0.1,
# unless AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_S3 say otherwise.
assets_host="cdk-hnb659fds-assets-$account-$region.s3.localhost.localstack.cloud"
if [[ -z "${AWS_ENDPOINT_URL:-}" ]] &&
  ! node -e "require('node:dns').lookup(process.argv[1], (error) => process.exit(error ? 1 : 0))" "$assets_host"; then
  echo "$assets_host does not resolve, so the CDK CLI cannot reach LocalStack. Offline? Add to /etc/hosts:" >&2
  echo "127.0.0.1 localhost.localstack.cloud s3.localhost.localstack.cloud $assets_host" >&2
  exit 1
fi

# cdklocal removes every AWS_* variable it is not told to keep (so a real profile can never be used by
# mistake); keep the region, so that bootstrap, deploy and smoke.ts agree on it.
export AWS_REGION="$region" AWS_DEFAULT_REGION="$region"
export AWS_ENVAR_ALLOWLIST="${AWS_ENVAR_ALLOWLIST:+$AWS_ENVAR_ALLOWLIST,}AWS_REGION,AWS_DEFAULT_REGION"

# Naming the environment lets bootstrap skip synthesizing the app; it is idempotent.
npx --no-install cdklocal bootstrap "aws://$account/$region" --no-notices

# destroyOnRemoval: `cdklocal destroy` removes the buckets (and their objects) and tables as well.
npx --no-install cdklocal deploy "$stack" \
  --context destroyOnRemoval=true \
  --context stackName="$stack" \
  --require-approval never \
  --no-notices

echo "Deployed. Try it: npm run smoke:localstack -- $stack"
