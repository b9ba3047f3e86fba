/**
 * Every connection returns at most 100 rows per page: `first`/`last` above
 * the cap (or explicitly null) are refused with INVAL, and a request naming
 * neither gets the first 100 — no query can ask for a whole table.
 */
import { constant, sideEffect, type Step } from "postgraphile/grafast";
import { wrapPlans } from "postgraphile/utils";
import { codedError } from "./errors";

export const MAX_PAGE_SIZE = 100;

interface ConnectionLike extends Step {
  getFirst(): Step | null;
  getLast(): Step | null;
  setFirst(first: Step | number): void;
}

const isConnection = (step: unknown): step is ConnectionLike =>
  typeof (step as ConnectionLike)?.getFirst === "function" && typeof (step as ConnectionLike).setFirst === "function";

export const PageSizePlugin = wrapPlans(
  (context) => (context.scope.isPgFieldConnection || context.scope.isPgManyRelationConnectionField ? true : null),
  () => (plan) => {
    const $connection = plan();
    if (!isConnection($connection)) return $connection;
    const $first = $connection.getFirst();
    const $last = $connection.getLast();
    if (!$first && !$last) {
      $connection.setFirst(MAX_PAGE_SIZE); // neither given: the default page
      return $connection;
    }
    sideEffect([$first ?? constant(null), $last ?? constant(null)], ([first, last]) => {
      if (first == null && last == null) throw codedError("INVAL", `Give first or last (1–${MAX_PAGE_SIZE})`);
      for (const [name, value] of [["first", first], ["last", last]] as const) {
        if (typeof value === "number" && value > MAX_PAGE_SIZE) {
          throw codedError("INVAL", `${name} may be at most ${MAX_PAGE_SIZE}`);
        }
      }
    });
    return $connection;
  },
  { name: "PageSizePlugin" },
);
