/**
 * PostGraphile answers an update that matched no row — it does not exist,
 * or row-level security hides it or refuses the change — with a null result
 * and no error. Clients deserve a clear answer: NOTFD, the same code deletes
 * give. (They cannot tell "missing" from "not yours", by design.)
 */
import { sideEffect, type ObjectStep } from "postgraphile/grafast";
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
