/**
 * Schema-driven random GraphQL operations, deterministic by seed.
 *
 * Every call returns a *distinct* document (different root fields,
 * arguments, selections, aliases, variables, fragments): the kind of traffic
 * that fills parse, validation and operation-plan caches, which a benchmark
 * repeating ten documents never does. Documents are checked against the
 * schema before they are returned, so what the server receives is valid
 * GraphQL; whether the database accepts the values is up to chance (ids
 * seen in earlier answers are reused, so many arguments hit real rows).
 */
import {
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  getNamedType,
  getNullableType,
  isAbstractType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  parse,
  validate,
} from "graphql";

/** mulberry32: a small, fast, seedable PRNG. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Values seen in answers, reused as arguments so that lookups hit real rows.
 * Filled once before the run (in a fixed order), so the same seed against
 * the same data gives the same documents whatever the concurrency.
 */
export class ValuePool {
  private readonly values = new Map<string, string[]>();
  constructor(private readonly maxPerKind = 500) {}

  add(kind: string, value: string): void {
    let list = this.values.get(kind);
    if (!list) this.values.set(kind, (list = []));
    if (list.length < this.maxPerKind && !list.includes(value)) list.push(value);
  }

  size(kind: string): number {
    return this.values.get(kind)?.length ?? 0;
  }

  pick(kind: string, rng: () => number): string | undefined {
    const list = this.values.get(kind);
    return list && list.length > 0 ? list[Math.floor(rng() * list.length)] : undefined;
  }

  /** Walks an answer and keeps its UUIDs, node ids and cursors. */
  harvest(data: unknown): void {
    const walk = (value: unknown, key: string): void => {
      if (Array.isArray(value)) for (const item of value) walk(item, key);
      else if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) walk(v, k);
      } else if (typeof value === "string") {
        if (UUID.test(value)) this.add("UUID", value);
        else if (key === "id" || key.endsWith("NodeId")) this.add("ID", value);
        else if (/cursor$/i.test(key)) this.add("Cursor", value);
      }
    };
    walk(data, "");
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const WORDS = ["postgres", "graph", "design", "rust", "career", "remote", "data", "team", "cloud", "test", "api", "ml"];

/**
 * Mutations a signed-in run must not send: they would sign the traffic's own
 * member out or change its password, and the rest of the run would be anonymous.
 */
const SELF_HARM = /password|logout|revokeSession|revokeRole|grantRole|updateUser|deleteUserEmail|makeEmailPrimary/i;

export interface GeneratedOperation {
  query: string;
  variables: Record<string, unknown>;
  /** The root field the operation starts from (for statistics). */
  root: string;
}

export interface GeneratorOptions {
  seed: number;
  /** Share of operations that are mutations, 0–1. */
  mutationShare?: number;
  /** Deepest selection below the root field. */
  maxDepth?: number;
}

export class OperationGenerator {
  private readonly rng: () => number;
  private readonly queryFields: Array<GraphQLField<unknown, unknown>>;
  private readonly mutationFields: Array<GraphQLField<unknown, unknown>>;
  private readonly mutationShare: number;
  private readonly maxDepth: number;
  /**
   * Drafts thrown away because they failed validation, e.g. two inline
   * fragments selecting one field name with different types (`rowId` is a
   * UUID on most types, a String on roles). Only valid documents are returned.
   */
  discarded = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    readonly pool: ValuePool,
    options: GeneratorOptions,
  ) {
    this.rng = makeRng(options.seed);
    this.mutationShare = options.mutationShare ?? 0.1;
    this.maxDepth = options.maxDepth ?? 3;
    const fields = (type: GraphQLObjectType | null | undefined) => Object.values(type?.getFields() ?? {});
    this.queryFields = fields(schema.getQueryType()).filter((f) => f.name !== "query");
    this.mutationFields = fields(schema.getMutationType()).filter((f) => !SELF_HARM.test(f.name));
  }

  next(): GeneratedOperation {
    for (let attempt = 0; attempt < 20; attempt++) {
      const op = this.attempt();
      if (op && validate(this.schema, parse(op.query)).length === 0) return op;
      if (op) this.discarded++;
    }
    return { query: "{ __typename }", variables: {}, root: "__typename" };
  }

  private attempt(): GeneratedOperation | null {
    const mutation = this.mutationFields.length > 0 && this.rng() < this.mutationShare;
    const field = this.pick(mutation ? this.mutationFields : this.queryFields);
    const ctx = new DocumentContext();
    const selection = this.fieldSelection(field, 0, ctx, true);
    if (selection === null) return null;
    const fragments = ctx.fragments.join("\n");
    const header = ctx.variableDefinitions.length > 0 ? `(${ctx.variableDefinitions.join(", ")})` : "";
    const kind = mutation ? "mutation" : "query";
    const name = this.rng() < 0.5 ? ` Op${Math.floor(this.rng() * 1e6)}` : header ? " Op" : "";
    const query = `${kind}${name}${header} { ${selection} }${fragments ? `\n${fragments}` : ""}`;
    return { query, variables: ctx.variables, root: field.name };
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rng() * list.length)];
  }

  private int(min: number, max: number): number {
    return min + Math.floor(this.rng() * (max - min + 1));
  }

  /** `alias: name(args) { … }`, or null when a required argument cannot be made. */
  private fieldSelection(field: GraphQLField<unknown, unknown>, depth: number, ctx: DocumentContext, root = false): string | null {
    const args: string[] = [];
    for (const arg of field.args) {
      const required = isNonNullType(arg.type) && arg.defaultValue === undefined;
      if (!required && !this.wantArgument(arg, root)) continue;
      const value = this.argumentValue(arg, ctx, depth);
      if (value === null) {
        if (required) return null;
        continue;
      }
      args.push(`${arg.name}: ${value}`);
    }
    const named = getNamedType(field.type);
    let sub = "";
    if (!isLeafType(named)) {
      sub = this.selectionSet(named as GraphQLNamedType, depth + 1, ctx);
      if (sub === "") return null;
      sub = ` ${sub}`;
    }
    const alias = this.rng() < 0.15 ? `${field.name}_${this.int(1, 9)}: ` : "";
    return `${alias}${field.name}${args.length > 0 ? `(${args.join(", ")})` : ""}${sub}`;
  }

  private wantArgument(arg: GraphQLArgument, root: boolean): boolean {
    // Page sizes keep answers small; other optional arguments are a coin toss.
    if (arg.name === "first") return true;
    if (arg.name === "after" || arg.name === "before") return this.rng() < 0.1;
    return this.rng() < (root ? 0.35 : 0.15);
  }

  private argumentValue(arg: GraphQLArgument, ctx: DocumentContext, depth: number): string | null {
    const literal = this.inputLiteral(arg.type, arg.name, depth, 0);
    if (literal === null) return null;
    // A third of the arguments travel as variables (the same plan serves other values).
    if (this.rng() < 0.33) {
      const name = `v${ctx.variableDefinitions.length}`;
      const value = this.inputValue(arg.type, arg.name, depth, 0);
      if (value === undefined) return literal;
      ctx.variableDefinitions.push(`$${name}: ${String(arg.type)}`);
      ctx.variables[name] = value;
      return `$${name}`;
    }
    return literal;
  }

  /** A JSON value for a variable of this type (undefined: cannot make one). */
  private inputValue(type: GraphQLInputType, name: string, depth: number, nesting: number): unknown {
    const nullable = getNullableType(type) as GraphQLInputType;
    if (isListType(nullable)) {
      const item = this.inputValue(nullable.ofType, name, depth, nesting + 1);
      return item === undefined ? undefined : [item];
    }
    if (isEnumType(nullable)) return this.pick(nullable.getValues()).name;
    if (isInputObjectType(nullable)) {
      if (nesting > 2) return undefined;
      const out: Record<string, unknown> = {};
      for (const field of Object.values(nullable.getFields())) {
        const required = isNonNullType(field.type) && field.defaultValue === undefined;
        if (!required && this.rng() > 0.25) continue;
        const value = this.inputValue(field.type, field.name, depth, nesting + 1);
        if (value === undefined) {
          if (required) return undefined;
          continue;
        }
        out[field.name] = value;
      }
      return out;
    }
    if (isScalarType(nullable)) return this.scalar(nullable.name, name, depth);
    return undefined;
  }

  /** The same, written as a GraphQL literal. */
  private inputLiteral(type: GraphQLInputType, name: string, depth: number, nesting: number): string | null {
    const nullable = getNullableType(type) as GraphQLInputType;
    if (isListType(nullable)) {
      const count = this.int(1, 2);
      const items: string[] = [];
      for (let i = 0; i < count; i++) {
        const item = this.inputLiteral(nullable.ofType, name, depth, nesting + 1);
        if (item === null) return null;
        items.push(item);
      }
      return `[${items.join(", ")}]`;
    }
    if (isEnumType(nullable)) return this.pick(nullable.getValues()).name;
    if (isInputObjectType(nullable)) {
      if (nesting > 2) return null;
      const parts: string[] = [];
      for (const field of Object.values(nullable.getFields())) {
        const required = isNonNullType(field.type) && field.defaultValue === undefined;
        if (!required && this.rng() > (nesting === 0 ? 0.3 : 0.2)) continue;
        const value = this.inputLiteral(field.type, field.name, depth, nesting + 1);
        if (value === null) {
          if (required) return null;
          continue;
        }
        parts.push(`${field.name}: ${value}`);
      }
      return `{ ${parts.join(", ")} }`;
    }
    if (isScalarType(nullable)) {
      const value = this.scalar(nullable.name, name, depth);
      return value === undefined ? null : JSON.stringify(value);
    }
    return null;
  }

  private scalar(type: string, name: string, depth: number): unknown {
    switch (type) {
      case "Int":
        if (name === "first" || name === "last") return depth === 0 ? this.int(1, 20) : this.int(1, 5);
        if (name === "offset") return this.int(0, 40);
        return this.int(0, 100);
      case "Float":
        return Math.round(this.rng() * 1000) / 10;
      case "Boolean":
        return this.rng() < 0.5;
      case "UUID":
        return this.pool.pick("UUID", this.rng) ?? randomUuid(this.rng);
      case "ID":
        return this.pool.pick("ID", this.rng) ?? Buffer.from(`["posts","${randomUuid(this.rng)}"]`).toString("base64");
      case "Cursor":
        return this.pool.pick("Cursor", this.rng);
      case "Datetime":
        return new Date(Date.UTC(2026, this.int(0, 10), this.int(1, 28), this.int(0, 23))).toISOString();
      case "BigInt":
        return String(this.int(0, 1000));
      case "BigFloat":
        return String(this.int(0, 1000) / 10);
      case "InternetAddress":
        return `10.${this.int(0, 255)}.${this.int(0, 255)}.${this.int(1, 254)}`;
      case "JSON":
        return { k: this.pick(WORDS) };
      case "String":
        if (/email/i.test(name)) return `${this.pick(WORDS)}${this.int(1, 99999)}@example.com`;
        if (/password/i.test(name)) return `Pw-${this.pick(WORDS)}-${this.int(1000, 9999)}`;
        return this.rng() < 0.7 ? this.pick(WORDS) : `${this.pick(WORDS)} ${this.pick(WORDS)} ${this.int(1, 999)}`;
      default:
        return undefined;
    }
  }

  /** `{ … }` for an object, interface or union type; "" when nothing could be selected. */
  private selectionSet(type: GraphQLNamedType, depth: number, ctx: DocumentContext): string {
    if (isAbstractType(type)) {
      const possible = this.schema.getPossibleTypes(type);
      const parts = ["__typename"];
      for (let i = this.int(1, 2); i > 0; i--) {
        const candidate = this.pick(possible);
        const inner = this.objectFields(candidate, depth, ctx);
        if (inner) parts.push(`... on ${candidate.name} { ${inner} }`);
      }
      return `{ ${parts.join(" ")} }`;
    }
    if (!isObjectType(type)) return "";
    const inner = this.objectFields(type, depth, ctx);
    if (!inner) return "";
    // Now and then through a named fragment.
    if (this.rng() < 0.1) {
      const name = `F${ctx.fragments.length}_${type.name}`;
      ctx.fragments.push(`fragment ${name} on ${type.name} { ${inner} }`);
      return `{ ...${name} }`;
    }
    return `{ ${inner} }`;
  }

  private objectFields(type: GraphQLObjectType, depth: number, ctx: DocumentContext): string {
    const fields = Object.values(type.getFields());
    const leaves = fields.filter((f) => isLeafType(getNamedType(f.type)) && f.args.every((a) => !isNonNullType(a.type)));
    const nested = depth < this.maxDepth ? fields.filter((f) => !isLeafType(getNamedType(f.type))) : [];
    const parts: string[] = [];
    const used = new Set<string>();
    for (let i = this.int(1, 4); i > 0 && leaves.length > 0; i--) {
      const field = this.pick(leaves);
      if (used.has(field.name)) continue;
      used.add(field.name);
      // Keep harvesting ids: select rowId and id when the type has them.
      parts.push(field.name);
    }
    for (const key of ["rowId", "id"]) if (!used.has(key) && type.getFields()[key] && this.rng() < 0.6) parts.push(key);
    for (let i = this.int(0, depth === 1 ? 3 : 1); i > 0 && nested.length > 0; i--) {
      const field = this.pick(nested);
      if (used.has(field.name)) continue;
      used.add(field.name);
      const selection = this.fieldSelection(field, depth, ctx);
      if (selection !== null) parts.push(selection);
    }
    if (parts.length === 0) parts.push("__typename");
    return parts.join(" ");
  }
}

class DocumentContext {
  variableDefinitions: string[] = [];
  variables: Record<string, unknown> = {};
  fragments: string[] = [];
}

function randomUuid(rng: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(rng() * 16).toString(16)).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}
