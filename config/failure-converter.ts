import { DefaultFailureConverter } from '@temporalio/common';

// Loaded by path (client, worker and the workflow bundle): failure messages and stack traces are
// moved into an encoded payload, so the payload codec encrypts them like any other payload.
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
