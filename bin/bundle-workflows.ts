// `npm run build:workflows [path]`: bundles workflows/ once, ahead of deployment, so workers load
// the bundle (WORKFLOW_BUNDLE_PATH) instead of running webpack in their own process at start.
// Rebuild it with every deploy: a worker must run the workflow code its histories were made with.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { failureConverterPath } from '../config/temporal.js';
import { workflowsPath } from '../worker/create-worker.js';

export async function writeWorkflowBundle(path: string): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    failureConverterPath,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never,
  });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, code);
  return path;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  const path = resolve(process.argv[2] ?? 'dist/workflow-bundle.js');
  await writeWorkflowBundle(path);
  console.log(`workflow bundle written to ${path}; start workers with WORKFLOW_BUNDLE_PATH=${path}`);
}
