/**
 * Watches GraphQL operations from inside Grafast, for HTTP and WebSocket
 * alike: a metric per operation (name, type, outcome, duration) and, when
 * tracing is on, a span per operation with a child span for planning.
 *
 * Grafast does not call graphql-js `execute`, so the stock GraphQL
 * instrumentation sees nothing; Grafast's own middleware does. `execute` /
 * `subscribe` wrap a whole operation; `establishOperationPlan` wraps
 * planning (it runs when the operation's plan is not cached yet, so a
 * planning span marks a cold operation); `executeStep` would wrap each
 * step's batch — left out, because one request runs dozens of steps and
 * the SQL spans below the operation already show where the time goes.
 */
import type * as OtelApi from "@opentelemetry/api";
import { isAsyncIterable, type GrafastExecutionArgs } from "postgraphile/grafast";
import { getOperationAST, type GraphQLError } from "postgraphile/graphql";
import { REQUEST_ID_ATTRIBUTE, tracingApi } from "../tracing";

export interface OperationObserver {
  operation(name: string | null, type: string, outcome: string, seconds: number): void;
}

/** A seam for the document-cost limit: when it knows an operation's cost, the span records it. */
export type CostOf = (args: GrafastExecutionArgs) => number | undefined;

const OWN_CODE = /^[A-Z]{5}$/;
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The outcome label of a result: "ok", the first error's Agora code (as
 * `extensions.code` or an SQLSTATE of five letters), `SQL_<class>` for a
 * standard SQLSTATE (the mask turns some into NUNIQ/INVAL/FORBD; the class
 * keeps the label set bounded), or "error".
 */
export function outcomeOf(errors: readonly GraphQLError[] | undefined): string {
  const first = errors?.[0];
  if (!first) return "ok";
  const code = first.extensions?.code;
  if (typeof code === "string" && /^[A-Z_]{3,32}$/.test(code)) return code;
  const original = first.originalError as { code?: unknown; extensions?: { code?: unknown } } | undefined;
  const ownCode = original?.extensions?.code ?? original?.code;
  if (typeof ownCode === "string" && OWN_CODE.test(ownCode)) return ownCode;
  if (typeof original?.code === "string" && SQLSTATE.test(original.code)) return `SQL_${original.code.slice(0, 2)}`;
  return "error";
}

function describe(args: GrafastExecutionArgs): { name: string | null; type: string } {
  const operation = getOperationAST(args.document, args.operationName ?? undefined);
  return { name: operation?.name?.value ?? null, type: operation?.operation ?? "unknown" };
}

function requestIdOf(args: GrafastExecutionArgs): string | undefined {
  const id = (args.requestContext as Partial<Grafast.RequestContext> | undefined)?.expressv4?.req?.id;
  return typeof id === "string" ? id : undefined;
}

export function makeGraphQLObserverPlugin(observer: OperationObserver, costOf: CostOf = () => undefined): GraphileConfig.Plugin {
  function run<T>(kind: "execute" | "subscribe", args: GrafastExecutionArgs, next: () => T): T {
    const { name, type } = describe(args);
    const started = performance.now();
    const otel = tracingApi();
    const span = otel ? startSpan(otel, args, name, type) : undefined;
    const finish = (outcome: string) => {
      observer.operation(name, type, outcome, (performance.now() - started) / 1000);
      if (span) {
        span.setAttribute("graphql.outcome", outcome);
        if (outcome !== "ok") span.setStatus({ code: 2 /* SpanStatusCode.ERROR */, message: outcome });
        span.end();
      }
    };
    const settle = (result: unknown): unknown => {
      if (isAsyncIterable(result)) finish(kind === "subscribe" ? "subscribed" : "ok");
      else finish(outcomeOf((result as { errors?: readonly GraphQLError[] } | null)?.errors));
      return result;
    };
    const fail = (error: unknown): never => {
      finish("error");
      throw error;
    };
    const start = (): T => {
      try {
        const result = next() as unknown;
        return (result instanceof Promise ? result.then(settle, fail) : settle(result)) as T;
      } catch (error) {
        return fail(error);
      }
    };
    if (!otel || !span) return start();
    return otel.context.with(otel.trace.setSpan(otel.context.active(), span), start);
  }

  function startSpan(otel: typeof OtelApi, args: GrafastExecutionArgs, name: string | null, type: string): OtelApi.Span {
    const attributes: OtelApi.Attributes = { "graphql.operation.type": type, "graphql.operation.name": name ?? "anonymous" };
    const requestId = requestIdOf(args);
    if (requestId) attributes[REQUEST_ID_ATTRIBUTE] = requestId;
    const cost = costOf(args);
    if (cost !== undefined) attributes["graphql.operation.cost"] = cost;
    return otel.trace.getTracer("agora").startSpan(`graphql.${type}${name ? ` ${name}` : ""}`, { kind: otel.SpanKind.INTERNAL, attributes });
  }

  return {
    name: "AgoraGraphQLObserverPlugin",
    version: "1.0.0",
    grafast: {
      middleware: {
        execute: (next, event) => run("execute", event.args, next),
        subscribe: (next, event) => run("subscribe", event.args, next),
        establishOperationPlan(next) {
          const otel = tracingApi();
          if (!otel) return next();
          return otel.trace.getTracer("agora").startActiveSpan("grafast.plan", (span) => {
            try {
              return next();
            } finally {
              span.end();
            }
          });
        },
      },
    },
  };
}
