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
  getNamedType,
  parse,
  specifiedRules,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  type ASTNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
  type ValueNode,
} from "postgraphile/graphql";

export const LIMIT_CODE = "QLIMT";
/** A document that does not parse or does not validate against the schema. */
export const QUERY_CODE = "QUERY";

export interface DocumentLimits {
  maxQueryLength: number;
  maxTokens: number;
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxDirectives: number;
  maxCost: number;
  /** `__schema` / `__type` allowed. */
  introspection: boolean;
  /** The size assumed for a list whose size the document does not give (the page cap). */
  defaultListSize: number;
}

/**
 * Extra cost of a field each time it is evaluated, on top of 1 per object
 * (row) it returns; keyed `Type.field` or `field` (any type). Leaves cost 0
 * unless listed. The expensive ones: ranked search, aggregates over whole sets,
 * counts, and markdown rendering.
 */
export const FIELD_WEIGHTS: Record<string, number> = {
  "Query.search": 50,
  "Query.searchSuggestions": 20,
  aggregates: 10,
  groupedAggregates: 20,
  totalCount: 10,
  bodyHtml: 1,
  __schema: 1000,
  __type: 10,
};
/** Each root field of a mutation: a write, triggers, maybe a job. */
const MUTATION_FIELD_WEIGHT = 10;
/** Fields visited while expanding fragments, at most; beyond it the document is refused as too complex. */
const MAX_VISITS = 20_000;

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
  if (query.length > limits.maxQueryLength) {
    return limitError("length", `The query is ${query.length} characters long`, limits.maxQueryLength, query.length);
  }
  try {
    parse(query, { maxTokens: limits.maxTokens, noLocation: true });
  } catch (error) {
    const message = (error as Error).message;
    if (/more tha[nt] \d+ tokens/.test(message)) {
      return limitError("tokens", `The query has more than ${limits.maxTokens} tokens`, limits.maxTokens, limits.maxTokens + 1);
    }
    const locations = (error as GraphQLError).locations;
    return new GraphQLError(message, { extensions: { code: QUERY_CODE, ...(locations ? { locations } : {}) } });
  }
  return null;
}

export interface DocumentMeasure {
  aliases: number;
  directives: number;
  /** `__schema` and `__type` fields. */
  introspection: FieldNode[];
  /** Per operation, in document order. */
  operations: Array<{ name: string | null; depth: number; rootFields: number; cost: number; visits: number }>;
}

function intValue(node: ValueNode | undefined, operation: OperationDefinitionNode, fallback: number): number {
  if (!node) return fallback;
  if (node.kind === Kind.INT) return Number(node.value);
  if (node.kind === Kind.VARIABLE) {
    // Validation runs before variables are known (and its result is cached
    // per document): a variable counts as its default, else the page cap.
    const definition = operation.variableDefinitions?.find((v) => v.variable.name.value === node.name.value);
    return definition?.defaultValue?.kind === Kind.INT ? Number(definition.defaultValue.value) : fallback;
  }
  return fallback;
}

function isListOutput(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

function fieldsOf(type: GraphQLNamedType | undefined | null): Record<string, GraphQLField<unknown, unknown>> | null {
  return type && (isObjectType(type) || isInterfaceType(type)) ? type.getFields() : null;
}

/**
 * Measures a document: counts over the text (aliases, directives) and, per
 * operation, depth, root fields and cost with fragments expanded. Stops
 * walking once `stopAt` says a limit is already exceeded (so a bomb costs
 * no more than the limit to measure).
 */
export function measureDocument(
  schema: GraphQLSchema,
  document: DocumentNode,
  limits: DocumentLimits,
): DocumentMeasure {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const def of document.definitions) if (def.kind === Kind.FRAGMENT_DEFINITION) fragments.set(def.name.value, def);

  let aliases = 0;
  let directives = 0;
  const introspection: FieldNode[] = [];
  const countText = (node: unknown): void => {
    // A plain walk of the AST (each node once: fragments are not expanded here).
    if (!node || typeof node !== "object") return;
    if (Array.isArray(node)) {
      for (const child of node) countText(child);
      return;
    }
    const ast = node as { kind?: string; alias?: unknown; name?: { value?: string } };
    if (ast.kind === Kind.FIELD && ast.alias) aliases++;
    if (ast.kind === Kind.FIELD && (ast.name?.value === "__schema" || ast.name?.value === "__type")) introspection.push(node as FieldNode);
    if (ast.kind === Kind.DIRECTIVE) directives++;
    for (const [key, value] of Object.entries(node)) if (key !== "loc" && value && typeof value === "object") countText(value);
  };
  countText(document.definitions);

  const operations: DocumentMeasure["operations"] = [];
  for (const operation of document.definitions) {
    if (operation.kind !== Kind.OPERATION_DEFINITION) continue;
    const rootType = schema.getRootType(operation.operation) ?? undefined;
    let depth = 0;
    let cost = 0;
    let visits = 0;
    let stopped = false;

    const walk = (
      selectionSet: SelectionSetNode,
      parentType: GraphQLNamedType | undefined,
      level: number,
      multiplier: number,
      /** Size of this selection's list children (the enclosing connection's page), or null. */
      pageSize: number | null,
      fragmentPath: string[],
    ): void => {
      for (const selection of selectionSet.selections) {
        if (stopped) return;
        if (selection.kind === Kind.INLINE_FRAGMENT) {
          const type = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) ?? parentType) : parentType;
          walk(selection.selectionSet, type, level, multiplier, pageSize, fragmentPath);
          continue;
        }
        if (selection.kind === Kind.FRAGMENT_SPREAD) {
          const name = selection.name.value;
          const fragment = fragments.get(name);
          if (!fragment || fragmentPath.includes(name)) continue; // unknown or cyclic: the standard rules report it
          const type = schema.getType(fragment.typeCondition.name.value) ?? parentType;
          walk(fragment.selectionSet, type, level, multiplier, pageSize, [...fragmentPath, name]);
          continue;
        }
        if (++visits > MAX_VISITS) {
          stopped = true;
          return;
        }
        const name = selection.name.value;
        if (name === "__typename") continue;
        const fieldDef = fieldsOf(parentType)?.[name];
        const fieldDepth = level + 1;
        if (name === "__schema" || name === "__type") {
          // Introspection: a flat weight; its nesting is bounded by graphql-js's MaxIntrospectionDepthRule.
          cost += multiplier * (FIELD_WEIGHTS[name] ?? 0);
          depth = Math.max(depth, fieldDepth);
          continue;
        }
        depth = Math.max(depth, fieldDepth);
        if (!fieldDef) continue; // unknown field: the standard rules report it
        const namedType = getNamedType(fieldDef.type);
        const isList = isListOutput(fieldDef.type);
        // This field's instances: a list child of a connection repeats per row of the page;
        // another list whose size we cannot know counts as a full page.
        const instances = isList ? multiplier * (pageSize ?? limits.defaultListSize) : multiplier;
        // 1 per object (row) returned; the field's own weight once per evaluation of the field
        // (a list's weight is not repeated per item).
        const weight =
          (FIELD_WEIGHTS[`${parentType?.name}.${name}`] ?? FIELD_WEIGHTS[name] ?? 0) +
          (level === 0 && operation.operation === "mutation" ? MUTATION_FIELD_WEIGHT : 0);
        cost += instances * (isCompositeType(namedType) ? 1 : 0) + multiplier * weight;
        if (cost > limits.maxCost || fieldDepth > limits.maxDepth) {
          stopped = true;
          return;
        }
        if (selection.selectionSet) {
          const paginated = fieldDef.args.some((arg) => arg.name === "first" || arg.name === "last");
          let childPage: number | null = null;
          if (paginated) {
            const arg = (n: string) => selection.arguments?.find((a) => a.name.value === n)?.value;
            const first = arg("first");
            const last = arg("last");
            childPage = first || last
              ? Math.max(intValue(first, operation, 0), intValue(last, operation, 0)) || limits.defaultListSize
              : limits.defaultListSize;
          }
          walk(selection.selectionSet, namedType, fieldDepth, instances, childPage, fragmentPath);
        }
      }
    };

    let rootFields = 0;
    const countRoot = (selectionSet: SelectionSetNode, path: string[]): void => {
      for (const selection of selectionSet.selections) {
        if (selection.kind === Kind.FIELD) {
          if (selection.name.value !== "__typename") rootFields++;
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          countRoot(selection.selectionSet, path);
        } else {
          const fragment = fragments.get(selection.name.value);
          if (fragment && !path.includes(fragment.name.value) && rootFields <= limits.maxRootFields) {
            countRoot(fragment.selectionSet, [...path, fragment.name.value]);
          }
        }
      }
    };
    countRoot(operation.selectionSet, []);
    walk(operation.selectionSet, rootType, 0, 1, null, []);
    operations.push({ name: operation.name?.value ?? null, depth, rootFields, cost, visits });
  }
  return { aliases, directives, introspection, operations };
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

/** Query texts that passed checkQueryText lately: each distinct document is parsed here once, not per request. */
const MAX_CHECKED = 1000;

/** The grafserv plugin: the pre-parse check and the validation rules, for HTTP and WebSocket. */
export function makeLimitsPlugin(limits: DocumentLimits): GraphileConfig.Plugin {
  const rule = makeLimitsRule(limits);
  const checked = new Set<string>();
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
          if (typeof query === "string" && !checked.has(query)) {
            const error = checkQueryText(query, limits);
            if (error) throw requestError(error);
            if (checked.size >= MAX_CHECKED) checked.delete(checked.values().next().value as string);
            checked.add(query);
          }
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
