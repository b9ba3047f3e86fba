/**
 * Updates and deletes never answer a silent null.
 *
 * - By node id: PostGraphile decodes the id into the primary key and, when
 *   the id is garbage, names another type or has the wrong key parts,
 *   silently skips the mutation (the key steps are inhibited) and answers
 *   null. NodeIdMutationPlugin checks the id first and answers INVAL.
 * - An update that matched no row — it does not exist, or row-level security
 *   hides it or refuses the change — also answers null. UpdateNotFoundPlugin
 *   makes that NOTFD, the code deletes give (the error mask maps
 *   PostGraphile's "No values were deleted"). Clients cannot tell "missing"
 *   from "not yours", by design.
 */
import { sideEffect, type NodeIdHandler, type ObjectStep } from "postgraphile/grafast";
import { wrapPlans } from "postgraphile/utils";
import { codedError } from "./errors";

export const UpdateNotFoundPlugin = wrapPlans(
  (context) => (context.scope.isPgUpdateMutation ? true : null),
  () => (plan) => {
    const $payload = plan() as ObjectStep<{ result: never }>;
    sideEffect($payload.get("result"), (row) => {
      if (row == null) throw codedError("NOTFD", "Not found, or you may not change it");
    });
    return $payload;
  },
  { name: "UpdateNotFoundPlugin" },
);

interface NodeIdTarget {
  handler: NodeIdHandler;
  /** The input field holding the id (`id`). */
  idField: string;
  /** How many columns the primary key has. */
  keyLength: number;
}

/** Why a node id cannot name a row of the handler's type, or null when it can. */
function nodeIdProblem(target: NodeIdTarget, raw: unknown): string | null {
  const typeName = target.handler.typeName;
  const malformed = `The ${target.idField} is malformed: give the ${target.idField} of a ${typeName}`;
  if (typeof raw !== "string") return malformed;
  let decoded: unknown;
  try {
    decoded = target.handler.codec.decode(raw);
  } catch {
    return malformed;
  }
  if (!Array.isArray(decoded)) return malformed;
  if (!target.handler.match(decoded)) return `That ${target.idField} is not the ${target.idField} of a ${typeName}`;
  const key = target.handler.getIdentifiers(decoded) as unknown[];
  const wellFormed =
    key.length === target.keyLength && key.every((part) => typeof part === "string" || typeof part === "number");
  return wellFormed ? null : malformed;
}

export const NodeIdMutationPlugin = wrapPlans(
  (context, build) => {
    const { scope } = context;
    const resource = scope.pgFieldResource;
    const byNodeId = scope.fieldBehaviorScope === "nodeId:resource:update" || scope.fieldBehaviorScope === "nodeId:resource:delete";
    if (!(scope.isPgUpdateMutation || scope.isPgDeleteMutation) || !byNodeId || !resource) return null;
    const handler = build.getNodeIdHandler?.(build.inflection.tableType(resource.codec));
    const primaryKey = (resource.uniques as Array<{ isPrimary?: boolean; attributes: readonly string[] }>).find((u) => u.isPrimary);
    const idField = build.inflection.nodeIdFieldName?.();
    if (!handler || !primaryKey || !idField) return null;
    return { handler, idField, keyLength: primaryKey.attributes.length } satisfies NodeIdTarget;
  },
  (target) => (plan, _$source, fieldArgs) => {
    // Created before the mutation's steps, so they depend on it and are skipped when it throws.
    sideEffect(fieldArgs.getRaw(["input", target.idField]), (raw) => {
      const problem = nodeIdProblem(target, raw);
      if (problem) throw codedError("INVAL", problem);
    });
    return plan();
  },
  { name: "NodeIdMutationPlugin" },
);
