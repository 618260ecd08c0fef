#!/usr/bin/env bash
# The API's contract as an outside fuzzer sees it: schemathesis (pip install schemathesis) over
# /openapi.json of a running `npm start`, all phases, first with the tenant key (every route but
# /v1/admin; revoking keys last), then with the admin key (/v1/admin only). Exits non-zero on any
# failure. Settings (and the refusals no schema can state): scripts/schemathesis.toml.
#   NOTIFLOW_API_KEY=nf_demo_... NOTIFLOW_ADMIN_KEY=nf_admin_... scripts/schemathesis.sh [base URL]
# Extra arguments after the URL go to both `st run`s (e.g. --seed 1 --max-failures 5).
set -euo pipefail

base="${1:-http://127.0.0.1:3000}"
shift || true
: "${NOTIFLOW_API_KEY:?set NOTIFLOW_API_KEY to the tenant key npm start printed}"
: "${NOTIFLOW_ADMIN_KEY:?set NOTIFLOW_ADMIN_KEY to the admin key npm start printed}"
examples="${SCHEMATHESIS_EXAMPLES:-80}"
tenant="${NOTIFLOW_TENANT:-demo-bank}"

# The fuzzer sends thousands of requests: raise the tenant's rate limits for the run.
curl -fsS -X PUT "$base/v1/admin/tenants/$tenant/limits" \
  -H "Authorization: Bearer $NOTIFLOW_ADMIN_KEY" -H 'Content-Type: application/json' \
  -d '{"requestsPerSecond":100000,"requestsBurst":1000000,"notificationsPerSecond":100000,"notificationsBurst":1000000}' >/dev/null

# One worker: with more, Hypothesis's threads trip a CPython 3.11 AST bug ("recursion depth mismatch").
common=(--phases=examples,coverage,fuzzing,stateful -n "$examples" --checks=all --generation-database=none -w 1 --request-timeout 60)

st_run() { st --config-file "$(dirname "$0")/schemathesis.toml" run "$base/openapi.json" "${common[@]}" "$@"; }
tenant_key=(-H "Authorization: Bearer $NOTIFLOW_API_KEY")
status=0
# Revoking keys goes last: the stateful phase lists the tenant's keys and revokes them, its own included.
st_run --exclude-path-regex '^/v1/admin/' --exclude-path '/v1/api-keys/{id}' "${tenant_key[@]}" "$@" || status=$?
st_run --include-path '/v1/api-keys/{id}' "${tenant_key[@]}" "$@" || status=$?
st_run --include-path-regex '^/v1/admin/' -H "Authorization: Bearer $NOTIFLOW_ADMIN_KEY" "$@" || status=$?
exit "$status"
