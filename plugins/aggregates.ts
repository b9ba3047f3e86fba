/**
 * Trims what @graphile/pg-aggregates publishes to what can work and what we
 * can afford.
 *
 * 1. `having` filters. pg-aggregates (0.2.0-rc.2) offers every aggregate
 *    (sum, average, stddev…, distinctCount, min, max) over every column in
 *    `groupedAggregates(having:)`, typed like the column: `average` of a
 *    timestamp fails in PostgreSQL ("function avg(timestamp with time zone)
 *    does not exist") and `distinctCount` of a timestamp is compared with a
 *    timestamp ("operator does not exist: bigint = timestamp with time
 *    zone"). Here a having filter exists only where the aggregate accepts the
 *    column's type (the same rule the `aggregates` output fields follow), and
 *    it compares with the aggregate's result type (distinctCount → BigInt,
 *    average of an Int → BigFloat …).
 * 2. Related-aggregate `orderBy` values (e.g. `UserOrderBy.
 *    POSTS_BY_AUTHOR_ID_SUM_LIKE_COUNT_DESC`): hundreds of them, each a
 *    correlated aggregate per row that no index serves — slow and an attack
 *    surface. Removed by default; a relation can get them back with the smart
 *    tag `@behavior +manyRelation:aggregates:orderBy` where an index backs it.
 */
import "postgraphile";
import type { AggregateSpec } from "@graphile/pg-aggregates";
import type {} from "@graphile/pg-aggregates/dist/InflectionPlugin"; // its inflectors' types
import type { PgCodec, PgResource } from "postgraphile/@dataplan/pg";

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any table of the registry
type AnyResource = PgResource<string, any, any, any, any>;

interface HavingTarget {
  resource: AnyResource;
  spec: AggregateSpec;
  /** GraphQL field name → attribute name, for the table's columns. */
  attributeByField: Map<string, string>;
}

const havingTargets = new WeakMap<object, Map<string, HavingTarget>>();

/** The having-input type names pg-aggregates registers, one per table and aggregate. */
function havingTargetsOf(build: GraphileBuild.Build): Map<string, HavingTarget> {
  let targets = havingTargets.get(build);
  if (targets) return targets;
  targets = new Map();
  for (const resource of Object.values(build.input.pgRegistry.pgResources) as AnyResource[]) {
    const attributes = resource.codec.attributes as Record<string, unknown> | undefined;
    if (resource.parameters || !attributes || resource.isUnique) continue;
    const attributeByField = new Map(
      Object.keys(attributes).map((attributeName) => [build.inflection.attribute({ codec: resource.codec, attributeName }), attributeName]),
    );
    for (const spec of build.pgAggregateSpecs) {
      targets.set(build.inflection.aggregateHavingAggregateInputType({ resource, aggregateSpec: spec }), { resource, spec, attributeByField });
    }
  }
  havingTargets.set(build, targets);
  return targets;
}

export const HavingFiltersPlugin: GraphileConfig.Plugin = {
  name: "AgoraHavingFiltersPlugin",
  description: "Having filters only where the aggregate accepts the column, typed like the aggregate's result",
  version: "0.0.0",
  after: ["PgAggregatesAddHavingAggregateTypesPlugin"],
  schema: {
    hooks: {
      GraphQLInputObjectType_fields(fields, build, context) {
        const target = havingTargetsOf(build).get(context.Self.name);
        if (!target) return fields;
        const { resource, spec, attributeByField } = target;
        const kept: typeof fields = Object.create(null);
        for (const [fieldName, field] of Object.entries(fields)) {
          const attributeName = attributeByField.get(fieldName);
          if (!attributeName) {
            kept[fieldName] = field; // computed columns: pg-aggregates checks these itself
            continue;
          }
          const codec = (resource.codec.attributes as Record<string, { codec: PgCodec }>)[attributeName].codec;
          if (!spec.isSuitableType(codec)) continue;
          const resultCodec = spec.pgTypeCodecModifier?.(codec) ?? codec;
          const filterTypeName = build.pgHavingFilterTypeNameForCodec(resultCodec);
          const FilterType = filterTypeName ? build.getTypeByName(filterTypeName) : undefined;
          if (!FilterType || !build.graphql.isInputObjectType(FilterType)) continue;
          kept[fieldName] = { ...field, type: FilterType };
        }
        return kept;
      },
    },
  },
};

export const NoRelatedAggregateOrderPlugin: GraphileConfig.Plugin = {
  name: "AgoraNoRelatedAggregateOrderPlugin",
  description: "No orderBy by aggregates of related rows unless a relation asks for it",
  version: "0.0.0",
  schema: {
    entityBehavior: {
      pgCodecRelation: {
        inferred: {
          provides: ["AgoraNoRelatedAggregateOrder"],
          after: ["default", "PgAggregatesOrderByAggregatesPlugin"],
          callback: (behavior) => [behavior, "-manyRelation:aggregates:orderBy" as GraphileBuild.BehaviorString],
        },
      },
    },
  },
};

export const AggregatesPlugins = [HavingFiltersPlugin, NoRelatedAggregateOrderPlugin];
