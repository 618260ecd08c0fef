import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { temporal } from '@temporalio/proto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { searchAttributeTypes } from '../../dev/temporal-server.js';
import { installTemporalRuntime } from '../../worker/runtime.js';
import { startTestEngine, type EngineOptions, type TestEngine } from './engine.js';

const installScript = fileURLToPath(new URL('../../scripts/time-skipping-server.sh', import.meta.url));

const indexedTypes = {
  Keyword: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  KeywordList: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;

export interface TimeSkippingEngine extends TestEngine {
  env: TestWorkflowEnvironment;
  /** Moves the server's clock `ms` ahead at once (timers due meanwhile fire), then lets it run at the wall clock's pace again. */
  skip(ms: number): Promise<void>;
  /** The server's clock, i.e. workflow time: ahead of the wall clock by all that was skipped. */
  now(): Promise<number>;
}

/**
 * The test engine (same workflow bundle, activities, payload codec and data converter as
 * startTestEngine) against its own Temporal time-skipping test server (the Java SDK's, installed
 * from Maven Central by scripts/time-skipping-server.sh), so a test runs a notification past hours
 * of timers (sendAt, quiet hours, retry backoff) in seconds.
 *
 * The server's clock runs at the wall clock's pace until the test calls `skip`. Activities
 * (Postgres, SMTP, FCM) always see the wall clock, workflow code the server's: a test compares
 * workflow times (timer events in the history) with workflow times, never with the wall clock.
 * No result() through a time-skipping client here: once the workflow closes, it lets the server
 * jump to its next timer, however far (ten years), before the clock is held again.
 * One file's tests share the server and its clock: they run one after another.
 */
export async function startTimeSkippingEngine(opts: Omit<EngineOptions, 'temporal'> = {}): Promise<TimeSkippingEngine> {
  const path = execFileSync('bash', [installScript], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  installTemporalRuntime('ERROR'); // before the environment's connections create the runtime
  const env = await createEnvironment(path);
  try {
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(Object.entries(searchAttributeTypes).map(([name, type]) => [name, indexedTypes[type]])),
    });
    const engine = await startTestEngine({ ...opts, temporal: { address: env.address } });
    return {
      ...engine,
      env,
      skip: (ms) => env.sleep(ms),
      now: () => env.currentTimeMs(),
      async stop() {
        await engine.stop();
        await env.teardown();
      },
    };
  } catch (err) {
    await env.teardown();
    throw err;
  }
}

/**
 * createTimeSkipping gives the server 5 s to answer; a JVM on a machine busy with other test
 * files can miss that, so it is tried again (the install's class-data archive makes it ~1 s).
 */
async function createEnvironment(path: string, tries = 3): Promise<TestWorkflowEnvironment> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path } } });
    } catch (err) {
      if (attempt >= tries) throw err;
    }
  }
}
