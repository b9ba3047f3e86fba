/**
 * The PostGraphile preset: amber + aggregates over app_public, the error
 * mask, and per-request database settings from verified claims only.
 */
import "postgraphile"; // GraphileConfig global types
import type {} from "postgraphile/grafserv/express/v4"; // requestContext.expressv4 / ws types
import type pg from "pg";
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { PgAggregatesPreset } from "@graphile/pg-aggregates";
import type { AccessClaims, TokenService } from "../src/auth/jwt";
import { bearerToken } from "../src/auth/jwt";
import { makeMaskError, type ErrorLogger } from "./errors";

export interface PresetOptions {
  pool: pg.Pool;
  tokens: TokenService;
  ruru: boolean;
  logError: ErrorLogger;
  /** Plugins and presets added by later features. */
  extend?: GraphileConfig.Preset[];
}

/** The settings a request runs with: its role and its verified claims. */
export function settingsForClaims(claims: AccessClaims | null | undefined): Record<string, string> {
  if (!claims) return { role: "anonymous" };
  return {
    role: "authenticated",
    "jwt.claims.sub": claims.sub,
    "jwt.claims.sid": claims.sid,
    "jwt.claims.role": claims.role,
  };
}

export function makePreset(options: PresetOptions): GraphileConfig.Preset {
  return {
    extends: [PostGraphileAmberPreset, PgAggregatesPreset, ...(options.extend ?? [])],
    pgServices: [
      makePgService({
        pool: options.pool,
        schemas: ["app_public"],
        pubsub: true,
        pgSettings(requestContext) {
          const http = requestContext.expressv4?.req;
          if (http) return settingsForClaims(http.auth);
          // WebSocket: the token arrives once, in connectionParams.
          const params = requestContext.ws?.normalizedConnectionParams;
          const token = bearerToken(params?.authorization as string | undefined);
          return settingsForClaims(token === null ? null : options.tokens.verify(token));
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
    },
    grafast: {
      explain: false,
    },
    schema: {
      pgForbidSetofFunctionsToReturnNull: true,
    },
  };
}
