/**
 * The direct path of `roomEvents` (docs/realtime.md "Delivery"). A room
 * event is plain data — the hub's payload, decided once per event per
 * instance — so what a subscriber receives is a function of the event and
 * the selection alone. For a subscription whose operation is one
 * `roomEvents` field selecting plain fields (no directives, no arguments, no
 * abstract types, no field with a plan of its own except the `computed`
 * ones), the selection is compiled once per document into a projector, and
 * each event is projected once per document: every subscriber with that
 * document gets the same result object, instead of Grafast running the
 * subscription's output plan for each subscriber and event. Any other
 * subscription (a directive, `notifications`, a field this path does not
 * know) goes to Grafast unchanged — the result is the same either way
 * (test/realtime/direct.test.ts compares them).
 */
import "postgraphile";
import {
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "postgraphile/graphql";
import type { LiveEvents, RealtimeEvent, SelfWritingStream } from "./services";

/** Fields whose value is computed from their object's data instead of read from it, by type and field name. */
export type ComputedFields = Record<string, Record<string, (source: Record<string, unknown>) => unknown>>;

/** Which way a live subscription went (a metric: docs/observability.md). */
export type LivePath = "direct" | "planned";

/** A non-null field had no value: the nearest nullable parent becomes null, as GraphQL does. */
const NULLED = Symbol("nulled");
type Projected = unknown;
interface State {
  /** The first non-null field that was null (`Type.field`), reported as the result's error. */
  violation: string | null;
}
type Projector = (value: unknown, state: State) => Projected;

export interface Compiled {
  /** The response key of the root field (its alias or `roomEvents`). */
  key: string;
  node: FieldNode;
  operation: OperationDefinitionNode;
  /** roomId: a variable's name, or the literal. */
  roomId: { variable: string } | { literal: string };
  project: Projector;
  /** Each event's result for this document, computed once and shared by its subscribers … */
  results: WeakMap<RealtimeEvent, ExecutionResult>;
  /** … and its JSON text, serialised once. */
  json: WeakMap<RealtimeEvent, string>;
}

interface Context {
  computed: ComputedFields;
  fragments: Record<string, FragmentDefinitionNode>;
}

/** The selection's fields by response key, or null when it holds anything this path does not take. */
function collectFields(parent: GraphQLObjectType, set: SelectionSetNode, context: Context, into = new Map<string, FieldNode>()): Map<string, FieldNode> | null {
  for (const selection of set.selections) {
    if (selection.directives?.length) return null;
    if (selection.kind === Kind.FIELD) {
      const key = selection.alias?.value ?? selection.name.value;
      if (into.has(key)) return null; // merging repeated keys is Grafast's job
      into.set(key, selection);
      continue;
    }
    const fragment = selection.kind === Kind.INLINE_FRAGMENT ? selection : context.fragments[selection.name.value];
    if (!fragment) return null;
    if (fragment.typeCondition && fragment.typeCondition.name.value !== parent.name) return null;
    if (!collectFields(parent, fragment.selectionSet, context, into)) return null;
  }
  return into;
}

function compileObject(type: GraphQLObjectType, set: SelectionSetNode | undefined, context: Context): Projector | null {
  if (!set) return null;
  const nodes = collectFields(type, set, context);
  if (!nodes) return null;
  const fields: Array<{ key: string; read: (source: Record<string, unknown>) => unknown; project: Projector }> = [];
  const definitions = type.getFields();
  for (const [key, node] of nodes) {
    const name = node.name.value;
    if (name === "__typename") {
      fields.push({ key, read: () => type.name, project: (v) => v });
      continue;
    }
    const definition = definitions[name];
    if (!definition || node.arguments?.length) return null;
    const compute = context.computed[type.name]?.[name];
    const planned = (definition.extensions as { grafast?: { plan?: unknown } } | undefined)?.grafast?.plan;
    if (planned && !compute) return null;
    const project = compileType(definition.type, node.selectionSet, context, `${type.name}.${name}`);
    if (!project) return null;
    fields.push({ key, read: compute ?? ((source) => source[name]), project });
  }
  return (value, state) => {
    if (value === null || value === undefined) return null;
    const out: Record<string, unknown> = {};
    for (const field of fields) {
      const projected = field.project(field.read(value as Record<string, unknown>), state);
      if (projected === NULLED) return NULLED;
      out[field.key] = projected;
    }
    return out;
  };
}

/** A projector for a value of `type`: null where it is nullable, NULLED where a non-null one is missing. */
function compileType(type: GraphQLOutputType, set: SelectionSetNode | undefined, context: Context, where: string): Projector | null {
  if (isNonNullType(type)) {
    const inner = compileNullable(type.ofType, set, context, where);
    if (!inner) return null;
    return (value, state) => {
      const projected = inner(value, state);
      if (projected !== null) return projected;
      state.violation ??= where;
      return NULLED;
    };
  }
  const inner = compileNullable(type, set, context, where);
  if (!inner) return null;
  return (value, state) => {
    const projected = inner(value, state);
    return projected === NULLED ? null : projected;
  };
}

function compileNullable(type: GraphQLOutputType, set: SelectionSetNode | undefined, context: Context, where: string): Projector | null {
  if (isListType(type)) {
    const item = compileType(type.ofType, set, context, where);
    if (!item) return null;
    return (value, state) => {
      if (value === null || value === undefined) return null;
      if (!Array.isArray(value)) return null;
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) {
        const projected = item(value[i], state);
        if (projected === NULLED) return NULLED;
        out[i] = projected;
      }
      return out;
    };
  }
  if (isLeafType(type)) {
    if (set) return null;
    return (value) => (value === null || value === undefined ? null : type.serialize(value));
  }
  if (isObjectType(type)) return compileObject(type, set, context);
  return null; // interfaces and unions: Grafast
}

/** The direct path's plan of an operation, or null when Grafast should run it. */
export function compile(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, computed: ComputedFields): Compiled | null {
  const operation = getOperationAST(document, operationName ?? undefined);
  const root = schema.getSubscriptionType();
  if (operation?.operation !== "subscription" || !root) return null;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const context: Context = { computed, fragments };
  const rootFields = collectFields(root, operation.selectionSet, context);
  if (!rootFields || rootFields.size !== 1) return null;
  const [[key, node]] = rootFields;
  if (node.name.value !== "roomEvents" || node.arguments?.length !== 1) return null;
  const argument = node.arguments[0];
  let roomId: Compiled["roomId"];
  if (argument.value.kind === Kind.VARIABLE) roomId = { variable: argument.value.name.value };
  else if (argument.value.kind === Kind.STRING) roomId = { literal: argument.value.value };
  else return null;
  const definition = root.getFields().roomEvents;
  if (!definition) return null;
  const project = compileType(definition.type, node.selectionSet, context, `${root.name}.roomEvents`);
  if (!project) return null;
  return { key, node, operation, roomId, project, results: new WeakMap(), json: new WeakMap() };
}

/** The result a subscriber of `compiled` receives for `event` (computed once per event and document). */
export function resultOf(compiled: Compiled, event: RealtimeEvent): ExecutionResult {
  let result = compiled.results.get(event);
  if (result) return result;
  const state: State = { violation: null };
  const projected = compiled.project(event, state);
  result =
    state.violation === null
      ? { data: { [compiled.key]: projected } }
      : {
          data: projected === NULLED ? null : { [compiled.key]: projected },
          errors: [new GraphQLError(`Cannot return null for non-nullable field ${state.violation}.`, { nodes: compiled.node, path: [compiled.key] })],
        };
  compiled.results.set(event, result);
  return result;
}

/** The JSON text of that result (serialised once per event and document, and written as is to each subscriber). */
function jsonOf(compiled: Compiled, event: RealtimeEvent): string {
  let json = compiled.json.get(event);
  if (json === undefined) {
    json = JSON.stringify(resultOf(compiled, event));
    compiled.json.set(event, json);
  }
  return json;
}

/**
 * The hub's events as this document's results. Given a writer by the
 * WebSocket layer (SelfWritingStream), it writes each event's shared JSON
 * itself, as it comes, and next() only reports the end (graphql-ws then
 * sends `complete`); without one, it yields the results as an ordinary
 * stream.
 */
class DirectStream implements AsyncIterableIterator<ExecutionResult>, SelfWritingStream {
  constructor(
    private readonly events: LiveEvents,
    private readonly compiled: Compiled,
  ) {}

  writeWith(write: (resultJson: string) => void): void {
    this.events.pipeTo((event) => write(jsonOf(this.compiled, event)));
  }

  // Not `async`: a suspended async function per idle subscription costs more than a pending promise.
  next(): Promise<IteratorResult<ExecutionResult>> {
    return this.events.next().then((step) => (step.done ? { value: undefined, done: true } : { value: resultOf(this.compiled, step.value), done: false }));
  }

  async return(): Promise<IteratorResult<ExecutionResult>> {
    await this.events.return?.();
    return { value: undefined, done: true };
  }

  async throw(error?: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.events.return?.();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

/**
 * The Grafast plugin: takes the subscriptions it can serve directly and
 * passes the rest on. `onSubscription` learns which way each live
 * subscription went.
 */
export function makeRealtimeDirectPlugin(computed: ComputedFields, onSubscription: (path: LivePath) => void = () => undefined): GraphileConfig.Plugin {
  const plans = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, Map<string, Compiled | null>>>();
  const planOf = (schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined): Compiled | null => {
    let documents = plans.get(schema);
    if (!documents) plans.set(schema, (documents = new WeakMap()));
    let byName = documents.get(document);
    if (!byName) documents.set(document, (byName = new Map()));
    const name = operationName ?? "";
    if (!byName.has(name)) byName.set(name, compile(schema, document, operationName, computed));
    return byName.get(name)!;
  };
  return {
    name: "RealtimeDirectPlugin",
    version: "0.0.0",
    grafast: {
      middleware: {
        subscribe(next, { args }) {
          const compiled = planOf(args.schema, args.document, args.operationName);
          const subscriber = (args.contextValue as Partial<Grafast.Context> | undefined)?.realtime;
          // Variables are coerced as Grafast would; any it refuses (or no socket) is Grafast's to answer, in its words.
          const variables = compiled && getVariableValues(args.schema, compiled.operation.variableDefinitions ?? [], args.variableValues ?? {});
          const roomId = compiled && variables?.coerced && ("literal" in compiled.roomId ? compiled.roomId.literal : variables.coerced[compiled.roomId.variable]);
          if (!compiled || !subscriber || typeof roomId !== "string") {
            onSubscription("planned");
            return next();
          }
          onSubscription("direct");
          return subscriber.subscribe(`room:${roomId}`).then(
            (events) => new DirectStream(events, compiled),
            (error: Error & { extensions?: Record<string, unknown> }) => ({
              errors: [new GraphQLError(error.message, { nodes: compiled.node, originalError: error, extensions: error.extensions })],
            }),
          ) as ReturnType<typeof next>;
        },
      },
    },
  };
}
