// The worker's workflow bundle entry point: every workflow the task queue serves.
export { notificationWorkflow } from './notification.js';
