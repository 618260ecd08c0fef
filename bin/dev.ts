// `npm start`: the whole engine on embedded defaults, for a new user's first look. Ctrl-C stops it all.
import { parseEnv } from '../config/env.js';
import { installTemporalRuntime } from '../worker/runtime.js';
import { createLogger } from '../config/logger.js';
import { surviveDatabaseRestarts } from '../db/unavailable.js';
import { DEV_TEMPORAL_METRICS_ADDRESS, startDevStack } from '../dev/stack.js';

const env = parseEnv(process.env);
// The Temporal SDK's own metrics, beside the engine's at the API's /metrics.
installTemporalRuntime('WARN', env.TEMPORAL_METRICS_ADDRESS ?? DEV_TEMPORAL_METRICS_ADDRESS);
const logger = createLogger(env.LOG_LEVEL === 'info' ? 'warn' : env.LOG_LEVEL, 'dev');
surviveDatabaseRestarts(logger);
console.log('Starting notiflow (first run builds the Temporal CLI and initialises PostgreSQL; later runs take seconds)...');
const stack = await startDevStack(env, logger);
console.log(`
API: ${stack.apiUrl}
Temporal UI: ${stack.temporalUiUrl ?? '(external Temporal: see your cluster UI)'}
Inbox: ${stack.inboxUrl}
Push: ${stack.pushUrl}
DNS: ${stack.dns} (the engine resolves through it; publish records with POST ${stack.apiUrl}/dev/dns)
API key: ${stack.apiKey}
Admin key: ${stack.adminKey}
Console: ${stack.consoleUrl} (sign in with the admin key)
Metrics: ${stack.apiUrl}/metrics

Try: curl -s -X POST ${stack.apiUrl}/v1/notifications -H "Authorization: Bearer ${stack.apiKey}" -H "Content-Type: application/json" -H "Idempotency-Key: demo-1" -d '{"userId":"alice","type":"account.transaction","data":{"amount":42.5,"currency":"EUR","merchant":"Boulangerie Paul","accountLast4":"1234"}}'
Press Ctrl-C to stop.`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('\nStopping...');
    stack
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        console.error(err);
        process.exit(1);
      });
  });
}
