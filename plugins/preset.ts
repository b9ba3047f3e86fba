/**
 * The PostGraphile preset: amber + aggregates over app_public, the error
 * mask, and per-request database settings from verified claims only.
 */
import "postgraphile"; // GraphileConfig global types
import type {} from "postgraphile/grafserv/express/v4"; // requestContext.expressv4 / ws types
import type { IncomingMessage } from "node:http";
import type pg from "pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PgAggregatesPreset } from "@graphile/pg-aggregates";
import type { AuthService, ClaimsOfAuthorization, ClientInfo, RequestClaims } from "./services";
import { makeAuthPlugin } from "./auth";
import { makeMaskError, type ErrorLogger } from "./errors";
import { NodeIdMutationPlugin, UpdateNotFoundPlugin } from "./not-found";
import { SubscriptionTransportPlugin } from "./subscription-transport";
import { AggregatesPlugins } from "./aggregates";
import { MarkdownPlugin } from "./markdown";
import { ContentFilterPlugins } from "./content-filters";
import { JobFilterPlugins } from "./job-filters";
import { PageSizePlugin } from "./page-size";
import { OrderedFunctionsPlugin } from "./ordered-functions";
import { makeCacheLimitsPlugin, type CacheLimits } from "./cache-limits";

export interface PresetOptions {
  pool: pg.Pool;
  /** Verifies the token of a WebSocket connection (HTTP requests are verified by the server's middleware). */
  claimsOf: ClaimsOfAuthorization;
  auth: AuthService;
  ruru: boolean;
  logError: ErrorLogger;
  /** Sizes of the document and plan caches (see plugins/cache-limits.ts); unset: the libraries' defaults (500 each). */
  cacheLimits?: CacheLimits;
  /** Plugins and presets added by later features. */
  extend?: GraphileConfig.Preset[];
  /**
   * statement_timeout of the schema's introspection (the owner's, not a
   * request's): the pool's sessions carry the requests' short timeout, and
   * an introspection cancelled by it leaves the API without a schema.
   */
  introspectionStatementTimeoutMs?: number;
}

/** The settings a request runs with: its role, its verified claims, the client's address. */
export function requestSettings(claims: RequestClaims | null | undefined, client: ClientInfo): Record<string, string> {
  const settings: Record<string, string> = { role: claims ? "authenticated" : "anonymous" };
  if (client.ip) settings["agora.client_ip"] = client.ip;
  if (claims) {
    settings["jwt.claims.sub"] = claims.sub;
    settings["jwt.claims.sid"] = claims.sid;
    settings["jwt.claims.role"] = claims.role;
  }
  return settings;
}

/** IP address (honouring TRUST_PROXY through express's req.ip) and user agent of an HTTP request. */
export function clientOf(req: Pick<IncomingMessage, "headers"> & { ip?: string; socket?: { remoteAddress?: string } } | undefined): ClientInfo {
  const ip = (req?.ip ?? req?.socket?.remoteAddress ?? null)?.replace(/^::ffff:/, "") ?? null;
  const ua = req?.headers["user-agent"];
  return { ip, userAgent: typeof ua === "string" ? ua : null };
}

/** The caller of a GraphQL request, over HTTP or WebSocket. */
function clientInfo(requestContext: Partial<Grafast.RequestContext>): ClientInfo {
  return clientOf(requestContext.expressv4?.req ?? requestContext.ws?.request);
}

export function makePreset(options: PresetOptions): GraphileConfig.Preset {
  return {
    extends: [PostGraphileAmberPreset, PgAggregatesPreset, ...(options.extend ?? [])],
    plugins: [
      makeAuthPlugin(options.auth),
      NodeIdMutationPlugin,
      UpdateNotFoundPlugin,
      SubscriptionTransportPlugin,
      MarkdownPlugin,
      PageSizePlugin,
      OrderedFunctionsPlugin,
      ...ContentFilterPlugins,
      ...JobFilterPlugins,
      ...AggregatesPlugins,
      ...(options.cacheLimits ? [makeCacheLimitsPlugin(options.cacheLimits)] : []),
    ],
    pgServices: [
      makePgService({
        pool: options.pool,
        schemas: ["app_public"],
        pubsub: true,
        ...(options.introspectionStatementTimeoutMs
          ? { pgSettingsForIntrospection: { statement_timeout: `${options.introspectionStatementTimeoutMs}` } }
          : {}),
        pgSettings(requestContext) {
          const client = clientInfo(requestContext);
          const http = requestContext.expressv4?.req;
          if (http) return requestSettings(http.auth, client);
          // WebSocket: the token arrives once, in connectionParams.
          const params = requestContext.ws?.normalizedConnectionParams;
          return requestSettings(options.claimsOf(params?.authorization as string | undefined), client);
        },
      } as Parameters<typeof makePgService>[0]),
    ],
    grafserv: {
      graphqlPath: "/graphql",
      graphiql: options.ruru,
      graphiqlOnGraphQLGET: options.ruru,
      graphiqlPath: "/ruru",
      websockets: true,
      maskError: makeMaskError(options.logError),
      ...(options.cacheLimits ? { parseAndValidateCacheSize: options.cacheLimits.documents } : {}),
    },
    grafast: {
      explain: false,
      context: (requestContext) => ({ client: clientInfo(requestContext) }),
    },
    gather: {
      // A function argument without a default is required in GraphQL too:
      // the SQL signature decides (e.g. changePassword's oldPassword).
      pgStrictFunctions: true,
    },
    schema: {
      pgForbidSetofFunctionsToReturnNull: true,
    },
  };
}
