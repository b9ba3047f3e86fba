/**
 * Measures a GraphQL document for plugins/limits.ts: aliases, directives and
 * introspection fields over its text, and per operation the depth, root
 * fields and cost with fragments expanded (docs/limits.md, "Cost").
 */
import {
  Kind,
  getNamedType,
  isCompositeType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from "postgraphile/graphql";

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
export const MAX_VISITS = 20_000;

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

  // Fields a selection set expands to, fragments included, memoised per
  // fragment: a fragment bomb (each fragment spreading the previous twice)
  // is measured in one pass over the text, not by expanding it.
  const fragmentSizes = new Map<string, number>();
  const sizeOf = (selectionSet: SelectionSetNode, path: string[]): number => {
    let size = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) size += 1 + (selection.selectionSet ? sizeOf(selection.selectionSet, path) : 0);
      else if (selection.kind === Kind.INLINE_FRAGMENT) size += sizeOf(selection.selectionSet, path);
      else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        if (!fragment || path.includes(name)) continue; // unknown or cyclic: the standard rules report it
        let fragmentSize = fragmentSizes.get(name);
        if (fragmentSize === undefined) {
          fragmentSize = sizeOf(fragment.selectionSet, [...path, name]);
          fragmentSizes.set(name, fragmentSize);
        }
        size += fragmentSize;
      }
      if (size > Number.MAX_SAFE_INTEGER / 4) return Number.MAX_SAFE_INTEGER / 4;
    }
    return size;
  };

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
            const page = first || last
              ? Math.max(intValue(first, operation, 0), intValue(last, operation, 0)) || limits.defaultListSize
              : limits.defaultListSize;
            // Rows skipped by `offset` are read all the same. (A variable offset counts as its default,
            // else 0; the server checks its value per request against the cost limit.)
            childPage = page + intValue(arg("offset"), operation, 0);
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
    const expanded = sizeOf(operation.selectionSet, []);
    if (expanded > MAX_VISITS) {
      operations.push({ name: operation.name?.value ?? null, depth, rootFields, cost, visits: expanded });
      continue;
    }
    walk(operation.selectionSet, rootType, 0, 1, null, []);
    operations.push({ name: operation.name?.value ?? null, depth, rootFields, cost, visits });
  }
  return { aliases, directives, introspection, operations };
}
