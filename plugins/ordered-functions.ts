/**
 * `@orderedBy <column> [asc|desc], …` on a set-returning function: its
 * connection is served with that explicit ORDER BY (a unique order, so
 * `after`/`before` cursors are keyset cursors on those columns), and the
 * function is not treated as having an implicit order.
 *
 * Why: PostGraphile assumes a set-returning function's rows come in the
 * function's own order and so never joins related rows into its query (a join
 * could reorder them); each relation on the page (a leaderboard entry's user,
 * a trending item's post and its author) then costs a second statement. With
 * the order stated, the page and its relations are one statement again.
 *
 * The columns must give a unique order within one call (e.g. `rank` of one
 * leaderboard), and the function must not rely on any other order.
 */
import type { ConnectionStep } from "postgraphile/grafast";
import type { PgSelectStep } from "postgraphile/@dataplan/pg";

interface Order {
  attribute: string;
  direction: "ASC" | "DESC";
}

/** "a desc, b" → [{a, DESC}, {b, ASC}]. */
export function parseOrderedBy(tag: unknown): Order[] | null {
  if (typeof tag !== "string" || tag.trim() === "") return null;
  return tag.split(",").map((part) => {
    const [attribute, dir = "asc", ...rest] = part.trim().split(/\s+/);
    if (rest.length > 0 || !/^(asc|desc)$/i.test(dir)) throw new Error(`@orderedBy: cannot read ${JSON.stringify(part)}`);
    return { attribute, direction: dir.toUpperCase() as Order["direction"] };
  });
}

export const OrderedFunctionsPlugin: GraphileConfig.Plugin = {
  name: "AgoraOrderedFunctionsPlugin",
  version: "1.0.0",
  gather: {
    hooks: {
      pgProcedures_functionResourceOptions(_info, { pgProc, functionResourceOptions }) {
        const { tags } = pgProc.getTagsAndDescription();
        if (parseOrderedBy(tags.orderedBy)) (functionResourceOptions as { hasImplicitOrder?: boolean }).hasImplicitOrder = false;
      },
    },
  },
  schema: {
    hooks: {
      GraphQLObjectType_fields_field(field, _build, context) {
        const resource = context.scope.pgFieldResource;
        if (!context.scope.isPgFieldConnection || !resource || !field.plan) return field;
        const orders = parseOrderedBy(resource.extensions?.tags?.orderedBy);
        if (!orders) return field;
        const attributes = (resource.codec as { attributes?: Record<string, unknown> }).attributes ?? {};
        for (const { attribute } of orders) {
          if (!(attribute in attributes)) throw new Error(`@orderedBy on ${resource.name}: it returns no column ${attribute}`);
        }
        const plan = field.plan;
        return {
          ...field,
          plan(...args: Parameters<typeof plan>) {
            const $connection = plan(...args) as ConnectionStep<unknown>;
            const $select = $connection.getSubplan() as unknown as PgSelectStep;
            for (const order of orders) $select.orderBy(order);
            $select.setOrderIsUnique();
            return $connection;
          },
        };
      },
    },
  },
};
