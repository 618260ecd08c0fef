// The schema's index, one file per topic; drizzle.config.ts reads this file, and code imports
// tables from here. A new topic gets its own db/schema-<topic>.ts and one line below.
export * from './schema-tenants.js';
export * from './schema-users.js';
export * from './schema-notifications.js';
export * from './schema-pools.js';
export * from './schema-feedback.js';
export * from './schema-hardening.js';
export * from './schema-templates.js';
export * from './schema-privacy.js';
export * from './schema-timing.js';
export * from './schema-limits.js';
export * from './schema-client-certs.js';
export * from './schema-unsubscribe.js';
export * from './schema-console.js';
export * from './schema-push.js';
export * from './schema-digests.js';
export * from './schema-rollups.js';
export * from './schema-dmarc.js';
export * from './schema-provider-data.js';
export * from './schema-placement.js';
