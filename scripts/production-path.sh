#!/usr/bin/env bash
# Runs docs/production.md "From an empty database to a first delivered alert" as written, against an
# external PostgreSQL and Temporal server started here on loopback, and checks that the first alert
# reaches the recipient's mail server, DKIM-signed d=acme-pay.example. Each line that differs from the
# documented one says "loopback:" and why; every other command is the documented one.
# Needs: node (npm ci done), the temporal CLI (TEMPORAL_CLI_PATH, PATH or ~/.cache/notiflow/bin), jq, openssl.
set -euo pipefail
set -m # each background job in its own process group, so cleanup stops npm and the node under it
cd "$(dirname "$0")/.."
TEMPORAL=${TEMPORAL_CLI_PATH:-$(command -v temporal || echo "$HOME/.cache/notiflow/bin/temporal")}
work=$(mktemp -d)
jobs_started=()
cleanup() {
  for pid in "${jobs_started[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${jobs_started[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "production-path: FAILED: $*" >&2
  for log in "$work"/*.log; do echo "--- $log" >&2 && tail -n 20 "$log" >&2; done
  exit 1
}
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_for() { # <what> <seconds> <command...>
  local what=$1 seconds=$2
  shift 2
  for _ in $(seq "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  fail "$what did not come up within ${seconds}s"
}

# --- The outside world: PostgreSQL, the DNS everyone publishes into, the recipient's mail server.
npx tsx scripts/production-path-rig.ts >"$work/rig.env" 2>"$work/rig.log" &
jobs_started+=($!)
wait_for "the rig (PostgreSQL, DNS, MX)" 180 grep -q RIG_READY "$work/rig.env"
# shellcheck disable=SC1091
source "$work/rig.env" # DATABASE_URL, RIG_DNS, RIG_MX_PORT, RIG_URL
tport=$(free_port)
"$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$tport" --http-port "$(free_port)" --metrics-port "$(free_port)" --headless \
  --log-level error --dynamic-config-value matching.enableFairness=true >"$work/temporal.log" 2>&1 &
jobs_started+=($!)
wait_for "Temporal" 120 "$TEMPORAL" operator cluster health --address "127.0.0.1:$tport"

# --- The documented commands.
export DATABASE_URL                                   # loopback: the rig's PostgreSQL
export TEMPORAL_ADDRESS=127.0.0.1:$tport              # loopback: the server started above
export SECRET_KEY=$(openssl rand -base64 32) ADMIN_API_KEY=$(openssl rand -hex 24)
export TEMPORAL_PAYLOAD_KEYS=k1:$(openssl rand -base64 32)
export BOUNCE_HOST=bounce.mail.example.eu PUBLIC_URL=https://notify.example.eu
export API_HOST=127.0.0.1 API_PORT=$(free_port) INBOUND_SMTP_HOST=127.0.0.1 INBOUND_SMTP_PORT=$(free_port) # loopback, free ports
export DNS_SERVERS=$RIG_DNS SMTP_MX_PORT=$RIG_MX_PORT MX_ALLOW_PRIVATE=127.0.0.0/8 # loopback: the rig's DNS, its MX on a high port
for name in TenantId UserId NotificationType Category DeliveryStatus; do # one name per call: the CLI adds only the first of several
  "$TEMPORAL" operator search-attribute create --address $TEMPORAL_ADDRESS --namespace default --name $name --type Keyword
done
"$TEMPORAL" operator search-attribute create --address $TEMPORAL_ADDRESS --namespace default --name Channel --type KeywordList
npm run build >"$work/build.log" 2>&1 || fail "npm run build"
npm run db:migrate >"$work/migrate.log" 2>&1 || fail "npm run db:migrate"
npm run start:api >"$work/api.log" 2>&1 &
jobs_started+=($!)
npm run start:worker >"$work/worker.log" 2>&1 &
jobs_started+=($!)
npm run start:inbound >"$work/inbound.log" 2>&1 &
jobs_started+=($!)
API=http://127.0.0.1:$API_PORT # loopback: no TLS-terminating proxy in front
admin=(-H "Authorization: Bearer $ADMIN_API_KEY" -H "Content-Type: application/json")
wait_for "the API" 120 curl -sf "$API/v1/admin/pools" "${admin[@]}"
grep -q 'feedback listener started' "$work/inbound.log" || wait_for "the inbound listener" 60 grep -q 'feedback listener started' "$work/inbound.log"
[ "$(curl -sf "$API/v1/admin/pools" "${admin[@]}")" = '{"pools":[]}' ] || fail "a new database should have no pool"

# 1. The engine's own DNS (loopback: the pool's IP is 127.0.0.2, the listener on this machine).
curl -sf -X POST "$RIG_URL/dns" -d '{"records":[{"type":"A","host":"bounce.mail.example.eu","value":"127.0.0.1"},{"type":"TXT","host":"bounce.mail.example.eu","value":"v=spf1 ip4:127.0.0.2 -all"}]}' >/dev/null
# 2. A pool, then a tenant (loopback: 127.0.0.2 instead of 203.0.113.10, an address this host sends from).
curl -sf -X PUT "$API/v1/admin/pools/shared-eu" "${admin[@]}" \
  -d '{"name":"Shared EU","kind":"shared","ips":[{"id":"eu-ip1","ip":"127.0.0.2","ehloName":"mta1.mail.example.eu","weight":100}]}' >/dev/null ||
  fail "PUT /v1/admin/pools/shared-eu"
tenant=$(curl -sf -X POST "$API/v1/admin/tenants" "${admin[@]}" -d '{"id":"acme-pay","name":"Acme Pay","poolId":"shared-eu"}') ||
  fail "POST /v1/admin/tenants"
# 3. The sending domain: its records published at "the tenant's DNS provider" (the rig), then verified.
KEY=$(jq -r .apiKey.key <<<"$tenant")
auth=(-H "Authorization: Bearer $KEY" -H "Content-Type: application/json")
curl -sf -X POST "$API/v1/sending-domains" "${auth[@]}" -d '{"domain":"acme-pay.example","fromName":"Acme Pay"}' >"$work/domain.json" ||
  fail "POST /v1/sending-domains"
curl -sf -X POST "$RIG_URL/dns" -d @"$work/domain.json" >/dev/null
verified=$(curl -sf -X POST "$API/v1/sending-domains/acme-pay.example/verify" "${auth[@]}") || fail "verify"
jq -e '[.records[] | select(.required != false) | .status] | length == 4 and all(. == "ok")' <<<"$verified" >/dev/null ||
  fail "the four records should verify ok: $verified"
# 4. A user and a first alert.
curl -sf -X PUT "$API/v1/users/dan" "${auth[@]}" -d '{"email":"dan@example.net","locale":"en","timezone":"Europe/Paris"}' >/dev/null ||
  fail "PUT /v1/users/dan"
accepted=$(curl -s -X POST "$API/v1/notifications" "${auth[@]}" -H "Idempotency-Key: first-alert" \
  -d '{"userId":"dan","type":"security.new_device","data":{"device":"Firefox on Linux","city":"Paris","at":"2026-12-06T08:00:00Z"}}')
id=$(jq -r '.id // empty' <<<"$accepted")
[ -n "$id" ] || fail "POST /v1/notifications: $accepted"
delivered() { [ "$(curl -sf "$API/v1/notifications/$id" "${auth[@]}" | jq -r .status)" = delivered ]; }
wait_for "notification $id to be delivered" 120 delivered

# --- What the recipient's server received.
received=$(curl -sf "$RIG_URL/received")
jq -e --arg id "$id" '[.[] | select(.notificationId == $id)] | length == 1' <<<"$received" >/dev/null || fail "one message for $id: $received"
jq -e --arg id "$id" '.[] | select(.notificationId == $id) | .remoteAddress == "127.0.0.2" and .dkim.result == "pass"
  and .dkim.domain == "acme-pay.example" and .spf.result == "pass" and .dmarc.result == "pass"' <<<"$received" >/dev/null ||
  fail "the alert should come from 127.0.0.2 with DKIM (d=acme-pay.example), SPF and DMARC pass: $received"
echo "production-path: ok: notification $id delivered from 127.0.0.2 to dan@example.net, DKIM d=acme-pay.example, SPF and DMARC pass"
