/**
 * How many GraphQL documents and operation plans the server keeps.
 *
 * Grafast keeps an operation plan (steps, layer plans, output plans and the
 * functions compiled for them) for each of the last 500 distinct operations,
 * and grafserv keeps the last 500 parsed and validated documents. With
 * Agora's schema a plan is a few hundred kilobytes of heap, and planning a
 * new one allocates much more garbage, so varied traffic (many distinct
 * documents) held the API at ≈ 800 MB RSS. See README "Memory under varied
 * traffic" for the measurements behind the defaults.
 */
import "postgraphile"; // GraphileConfig global types

export interface CacheLimits {
  /** Distinct operations whose plans are kept (grafast `operationsCacheMaxLength`). */
  operationPlans: number;
  /** Plans kept per operation, for variable values that need different plans. */
  plansPerOperation: number;
  /** Parsed and validated documents kept (grafserv `parseAndValidateCacheSize`). */
  documents: number;
}

/** Sets grafast's plan-cache sizes on the schema it builds (grafast reads them from `schema.extensions.grafast`). */
export function makeCacheLimitsPlugin(limits: CacheLimits): GraphileConfig.Plugin {
  return {
    name: "AgoraCacheLimitsPlugin",
    version: "1.0.0",
    description: "Bounds grafast's operation-plan cache",
    schema: {
      hooks: {
        GraphQLSchema(schema) {
          const extensions = (schema.extensions ?? {}) as Record<string, unknown>;
          schema.extensions = {
            ...extensions,
            grafast: {
              ...(extensions.grafast as object | undefined),
              operationsCacheMaxLength: limits.operationPlans,
              operationOperationPlansCacheMaxLength: limits.plansPerOperation,
            },
          };
          return schema;
        },
      },
    },
  };
}
