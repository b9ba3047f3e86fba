/**
 * A subscription is a stream: it needs a WebSocket (graphql-ws). Sent over
 * HTTP POST, Grafast fails while planning it and the client used to get
 * INTERNAL; a schema without a Subscription type failed the same way on any
 * transport. Both are the client's mistake: answer INVAL, before planning.
 */
import "postgraphile";
import { getOperationAST, GraphQLError, type ExecutionResult } from "postgraphile/graphql";

type ExecuteEvent = Parameters<GraphileConfig.GrafastMiddleware["execute"]>[0];

/** Why this operation cannot run here, or null when it can. */
export function subscriptionRefusal({ args }: Pick<ExecuteEvent, "args">): ExecutionResult | null {
  const operation = getOperationAST(args.document, args.operationName ?? undefined);
  if (operation?.operation !== "subscription") return null;
  let message: string;
  if (!args.schema.getSubscriptionType()) message = "This API offers no subscriptions";
  else if (!args.requestContext?.ws) message = "Subscriptions need a WebSocket (graphql-ws); this request came over HTTP";
  else return null;
  return { errors: [new GraphQLError(message, { nodes: operation, extensions: { code: "INVAL" } })] };
}

export const SubscriptionTransportPlugin: GraphileConfig.Plugin = {
  name: "SubscriptionTransportPlugin",
  version: "0.0.0",
  grafast: {
    middleware: {
      execute(next, event) {
        return subscriptionRefusal(event) ?? next();
      },
      subscribe(next, event) {
        return subscriptionRefusal(event) ?? next();
      },
    },
  },
};
