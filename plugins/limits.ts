/**
 * Bounded work per request, decided from the document before any SQL runs.
 *
 * Two checks, both in grafserv's pipeline, so HTTP and WebSocket alike:
 * - before parsing (processGraphQLRequestBody): the query's length and its
 *   number of tokens, so the parser never sees a huge document;
 * - during validation (an extra validation rule): depth, aliases, root
 *   fields, directives, and a cost estimate — list sizes (`first`/`last`,
 *   else the page cap) multiplied down the tree, with weights for the
 *   expensive fields. Fragment spreads are expanded, with a bound on the
 *   number of fields visited, so fragment bombs cost what they expand to.
 *
 * A refusal is a GraphQL error with `extensions.code` "QLIMT" and
 * `extensions.limit` naming the limit (its setting in the message).
 */
import { SafeError } from "postgraphile/grafast";
import {
  GraphQLError,
  Kind,
  parse,
  specifiedRules,
  type ASTNode,
  type DocumentNode,
  type ValidationContext,
  type ValidationRule,
} from "postgraphile/graphql";
import { MAX_VISITS, measureDocument, type DocumentLimits } from "./document-measure";

export { FIELD_WEIGHTS, measureDocument, type DocumentLimits, type DocumentMeasure } from "./document-measure";

export const LIMIT_CODE = "QLIMT";
/** A document that does not parse or does not validate against the schema. */
export const QUERY_CODE = "QUERY";

const SETTING: Record<string, string> = {
  length: "GRAPHQL_MAX_QUERY_LENGTH",
  tokens: "GRAPHQL_MAX_TOKENS",
  depth: "GRAPHQL_MAX_DEPTH",
  aliases: "GRAPHQL_MAX_ALIASES",
  rootFields: "GRAPHQL_MAX_ROOT_FIELDS",
  directives: "GRAPHQL_MAX_DIRECTIVES",
  cost: "GRAPHQL_MAX_COST",
  introspection: "GRAPHQL_INTROSPECTION",
  fragments: "fragment expansion",
};

/** The error every limit raises; `actual` may be a lower bound ("at least") when counting stopped early. */
export function limitError(limit: string, message: string, max: number, actual: number, nodes?: ASTNode | ASTNode[]): GraphQLError {
  return new GraphQLError(`${message} (limit ${max}, ${SETTING[limit] ?? limit})`, {
    nodes,
    extensions: { code: LIMIT_CODE, limit, max, actual },
  });
}

/**
 * Before grafserv parses: the length, then a parse bounded by the token
 * limit (graphql-js stops one token past it). Null when the text is fine;
 * else the error to answer (QLIMT, or QUERY for a syntax error).
 */
export function checkQueryText(query: string, limits: DocumentLimits): GraphQLError | null {
  const checked = checkQuery(query, limits);
  return "error" in checked ? checked.error : null;
}

/** Variables a document passes to `first`/`last` and to `offset`: checked per request, once their values are known. */
export interface PageVariables {
  page: string[];
  offset: string[];
}

function pageVariables(document: DocumentNode): PageVariables {
  const found: PageVariables = { page: [], offset: [] };
  const visit = (node: unknown): void => {
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const child of node) visit(child);
      return;
    }
    const ast = node as { kind?: string; name?: { value?: string }; value?: { kind?: string; name?: { value?: string } } };
    if (ast.kind === Kind.ARGUMENT && ast.value?.kind === Kind.VARIABLE && ast.value.name?.value) {
      const arg = ast.name?.value;
      if (arg === "first" || arg === "last") found.page.push(ast.value.name.value);
      if (arg === "offset") found.offset.push(ast.value.name.value);
    }
    for (const [key, value] of Object.entries(node)) if (key !== "loc" && value && typeof value === "object") visit(value);
  };
  visit(document.definitions);
  return found;
}

/** The values of page variables: `first`/`last` over the page cap (INVAL), an `offset` over the cost limit (QLIMT). */
export function checkPageVariables(variables: PageVariables, values: Record<string, unknown> | undefined, limits: DocumentLimits): GraphQLError | null {
  for (const name of variables.page) {
    const value = values?.[name];
    if (typeof value === "number" && value > limits.defaultListSize) {
      return new GraphQLError(`$${name} is ${value}: first and last may be at most ${limits.defaultListSize}`, { extensions: { code: "INVAL" } });
    }
  }
  for (const name of variables.offset) {
    const value = values?.[name];
    if (typeof value === "number" && value > limits.maxCost) {
      return limitError("cost", `$${name} skips ${value} rows`, limits.maxCost, value);
    }
  }
  return null;
}

function checkQuery(query: string, limits: DocumentLimits): { error: GraphQLError } | { variables: PageVariables } {
  if (query.length > limits.maxQueryLength) {
    return { error: limitError("length", `The query is ${query.length} characters long`, limits.maxQueryLength, query.length) };
  }
  try {
    return { variables: pageVariables(parse(query, { maxTokens: limits.maxTokens, noLocation: true })) };
  } catch (error) {
    const message = (error as Error).message;
    if (/more tha[nt] \d+ tokens/.test(message)) {
      return { error: limitError("tokens", `The query has more than ${limits.maxTokens} tokens`, limits.maxTokens, limits.maxTokens + 1) };
    }
    const locations = (error as GraphQLError).locations;
    return { error: new GraphQLError(message, { extensions: { code: QUERY_CODE, ...(locations ? { locations } : {}) } }) };
  }
}

/** The validation rule: reports the first limit each operation exceeds. */
export function makeLimitsRule(limits: DocumentLimits): ValidationRule {
  return function LimitsRule(context: ValidationContext) {
    return {
      Document(document: DocumentNode) {
        const measure = measureDocument(context.getSchema(), document, limits);
        if (!limits.introspection && measure.introspection.length > 0) {
          context.reportError(limitError("introspection", "Introspection is turned off on this server", 0, measure.introspection.length, measure.introspection));
          return false;
        }
        if (measure.aliases > limits.maxAliases) {
          context.reportError(limitError("aliases", `The query uses ${measure.aliases} aliases`, limits.maxAliases, measure.aliases));
          return false;
        }
        if (measure.directives > limits.maxDirectives) {
          context.reportError(limitError("directives", `The query uses ${measure.directives} directives`, limits.maxDirectives, measure.directives));
          return false;
        }
        for (const [i, op] of measure.operations.entries()) {
          const node = document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION)[i];
          const label = op.name ? `Operation ${op.name}` : "The operation";
          if (op.rootFields > limits.maxRootFields) {
            context.reportError(limitError("rootFields", `${label} asks for ${op.rootFields} root fields`, limits.maxRootFields, op.rootFields, node));
          } else if (op.visits > MAX_VISITS) {
            context.reportError(limitError("fragments", `${label} expands to more than ${MAX_VISITS} fields`, MAX_VISITS, op.visits, node));
          } else if (op.depth > limits.maxDepth) {
            context.reportError(limitError("depth", `${label} nests ${op.depth} levels deep`, limits.maxDepth, op.depth, node));
          } else if (op.cost > limits.maxCost) {
            context.reportError(limitError("cost", `${label} costs at least ${op.cost}`, limits.maxCost, op.cost, node));
          }
        }
        return false; // the whole document is measured above
      },
    };
  };
}

/** A standard rule whose errors carry `extensions.code` QUERY, so clients can branch on every refusal. */
function withQueryCode(rule: ValidationRule): ValidationRule {
  return (context) =>
    rule(
      new Proxy(context, {
        get(target, property) {
          if (property === "reportError") {
            return (error: GraphQLError) =>
              target.reportError(
                new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: QUERY_CODE, ...error.extensions } }),
              );
          }
          const value = Reflect.get(target, property, target) as unknown;
          return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      }),
    );
}

const CODED_RULES = new Map<ValidationRule, ValidationRule>(specifiedRules.map((rule) => [rule, withQueryCode(rule)]));

/** Query texts that passed checkQuery lately, with their page variables: each distinct document is parsed here once, not per request. */
const MAX_CHECKED = 1000;

/** The grafserv plugin: the pre-parse check and the validation rules, for HTTP and WebSocket. */
export function makeLimitsPlugin(limits: DocumentLimits): GraphileConfig.Plugin {
  const rule = makeLimitsRule(limits);
  const checked = new Map<string, PageVariables>();
  return {
    name: "AgoraLimitsPlugin",
    version: "1.0.0",
    grafserv: {
      middleware: {
        setPreset(next, event) {
          // Ours first: a refused document is not worth the other rules' time.
          event.validationRules = [rule, ...event.validationRules.map((r) => CODED_RULES.get(r) ?? r)];
          return next();
        },
        processGraphQLRequestBody(next, event) {
          const query = event.body.query;
          if (typeof query !== "string") return next();
          let variables = checked.get(query);
          if (!variables) {
            const result = checkQuery(query, limits);
            if ("error" in result) throw requestError(result.error);
            variables = result.variables;
            if (checked.size >= MAX_CHECKED) checked.delete(checked.keys().next().value as string);
            checked.set(query, variables);
          }
          const error = checkPageVariables(variables, event.body.variableValues as Record<string, unknown> | undefined, limits);
          if (error) throw requestError(error);
          return next();
        },
      },
    },
  };
}

/**
 * An error thrown before parsing, as grafserv expects it: a SafeError keeps
 * its message and extensions (HTTP: a JSON error with this status; WebSocket:
 * the operation's error).
 */
export function requestError(error: GraphQLError, statusCode = 400): SafeError {
  return new SafeError(error.message, { ...error.extensions, statusCode });
}
