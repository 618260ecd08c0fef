import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import type { Env } from './env.js';

/**
 * Temporal's OpenTelemetry plugin when OTEL_EXPORTER_OTLP_ENDPOINT is set: client, workflow and
 * activity spans with the trace carried through workflow headers, exported over OTLP/HTTP.
 * Workflow spans need the workflow interceptors in the bundle: a worker that bundles at start gets
 * them; a prebuilt bundle (WORKFLOW_BUNDLE_PATH) traces client and activities only.
 */
export function tracingPlugin(env: Pick<Env, 'OTEL_EXPORTER_OTLP_ENDPOINT' | 'OTEL_SERVICE_NAME'>, part: string): OpenTelemetryPlugin | undefined {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return undefined;
  const exporter = new OTLPTraceExporter({ url: `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/$/, '')}/v1/traces` });
  return new OpenTelemetryPlugin({
    resource: new Resource({ 'service.name': env.OTEL_SERVICE_NAME, 'service.namespace': 'notiflow', 'notiflow.part': part }),
    spanProcessor: new BatchSpanProcessor(exporter),
  });
}
