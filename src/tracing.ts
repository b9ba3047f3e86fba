/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured
 * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
 *
 * Nothing here imports OpenTelemetry at load time: startTracing() loads the
 * SDK, the OTLP/HTTP (JSON) exporter and the http and pg instrumentations
 * only when tracing is on, so a server without it pays nothing. It must run
 * before `pg` and `http` users are loaded (src/main.ts imports the app after
 * it), because the instrumentations patch those modules as they load.
 *
 * Spans: one per HTTP request (instrumentation-http, which honours an
 * incoming W3C `traceparent`), one per GraphQL operation and one for Grafast
 * planning (src/server/graphql-observer.ts), and one per SQL statement and
 * pool checkout (instrumentation-pg, with no parameter values). Every span
 * of a request carries `agora.request_id`, copied from its parent as it
 * starts; log lines written inside a traced request carry reqId, trace_id
 * and span_id (src/logger.ts).
 */
import type * as OtelApi from "@opentelemetry/api";
import type { TracingConfig } from "./config";

/** The API module once tracing is on; null means every helper here is a no-op. */
let api: typeof OtelApi | null = null;

export const REQUEST_ID_ATTRIBUTE = "agora.request_id";

export interface Tracing {
  /** Flushes the spans still buffered and stops exporting. */
  shutdown(): Promise<void>;
}

export function tracingApi(): typeof OtelApi | null {
  return api;
}

/** Attributes of a span as the SDK keeps them (the API has no getter). */
function attributesOf(span: OtelApi.Span | undefined): Record<string, unknown> | undefined {
  return (span as unknown as { attributes?: Record<string, unknown> } | undefined)?.attributes;
}

/** For log lines: the request id and trace ids of the active span, when tracing is on. */
export function activeTraceFields(): Record<string, string> {
  if (!api) return {};
  const span = api.trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  const requestId = attributesOf(span)?.[REQUEST_ID_ATTRIBUTE];
  return { trace_id: traceId, span_id: spanId, ...(typeof requestId === "string" ? { reqId: requestId } : {}) };
}

/** Marks the active span (the HTTP request's) with the request id; its children inherit it. */
export function tagActiveSpanWithRequestId(requestId: string): void {
  api?.trace.getActiveSpan()?.setAttribute(REQUEST_ID_ATTRIBUTE, requestId);
}

export async function startTracing(config: TracingConfig): Promise<Tracing> {
  const otel = await import("@opentelemetry/api");
  const { NodeTracerProvider, BatchSpanProcessor } = await import("@opentelemetry/sdk-trace-node");
  const { OTLPTraceExporter } = await import("@opentelemetry/exporter-trace-otlp-http");
  const { resourceFromAttributes } = await import("@opentelemetry/resources");
  const { registerInstrumentations } = await import("@opentelemetry/instrumentation");
  const { HttpInstrumentation } = await import("@opentelemetry/instrumentation-http");
  const { PgInstrumentation } = await import("@opentelemetry/instrumentation-pg");

  /** Copies the request id from the parent span to each new span, so SQL spans carry it too. */
  const requestIdProcessor: import("@opentelemetry/sdk-trace-node").SpanProcessor = {
    onStart(span, parentContext) {
      const requestId = attributesOf(otel.trace.getSpan(parentContext))?.[REQUEST_ID_ATTRIBUTE];
      if (typeof requestId === "string") span.setAttribute(REQUEST_ID_ATTRIBUTE, requestId);
    },
    onEnd: () => undefined,
    forceFlush: async () => undefined,
    shutdown: async () => undefined,
  };

  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": config.serviceName }),
    spanProcessors: [requestIdProcessor, new BatchSpanProcessor(new OTLPTraceExporter({ url: config.endpoint }))],
  });
  provider.register(); // W3C traceparent + baggage propagation, AsyncLocalStorage context
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => /^\/(health\/|metrics$)/.test(req.url ?? ""),
      }),
      // requireParentSpan: the worker's polling and pool housekeeping make no root spans.
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false }),
    ],
  });
  api = otel;
  return {
    async shutdown() {
      unregister();
      await provider.shutdown();
      api = null;
    },
  };
}
