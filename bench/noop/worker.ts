// Child process: a worker for the no-op workflow, with the engine worker's concurrency settings.
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { parseEnv } from '../../config/env.js';
import { encryptedDataConverter } from '../../config/temporal.js';
import { installTemporalRuntime } from '../../worker/runtime.js';
import * as activities from './activities.js';

const env = parseEnv(process.env);
if (!env.TEMPORAL_ADDRESS) throw new Error('TEMPORAL_ADDRESS is required');
installTemporalRuntime('ERROR');
const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
const worker = await Worker.create({
  connection,
  namespace: env.TEMPORAL_NAMESPACE,
  taskQueue: env.TEMPORAL_TASK_QUEUE,
  workflowsPath: fileURLToPath(new URL('./workflows.ts', import.meta.url)),
  activities,
  // The bench's client encrypts payloads as the engine's does; a worker without the codec fails every task.
  ...(env.TEMPORAL_PAYLOAD_KEYS ? { dataConverter: encryptedDataConverter(env.TEMPORAL_PAYLOAD_KEYS) } : {}),
  maxConcurrentActivityTaskExecutions: 200,
  maxConcurrentLocalActivityExecutions: 200,
});
process.once('SIGTERM', () => worker.shutdown());
console.log('noop worker started');
await worker.run();
await connection.close();
