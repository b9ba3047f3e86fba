/**
 * List filters on job postings beyond column equality (employment type,
 * workplace, location, category and salary currency/period come from the
 * column conditions): `tag`, `postedSince`, and the salary overlap
 * `salaryFrom`/`salaryTo` — together, jobs whose salary range [min, max]
 * overlaps [salaryFrom, salaryTo]. Each is backed by an index (GIN on
 * tags, btree on published_at, GiST on salary_range); docs/jobs.md.
 */
import type { GraphQLInputType } from "postgraphile/graphql";
import { addPgTableCondition } from "postgraphile/utils";

const table = { schemaName: "app_public", tableName: "job_postings" };

export const JobFilterPlugins: GraphileConfig.Plugin[] = [
  addPgTableCondition(
    table,
    "tag",
    (build) => ({ type: build.graphql.GraphQLString, description: "Only jobs carrying this tag." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null
        ? null
        : sql`${sqlTableAlias}.tags @> array[${sqlValueWithCodec(String(value).toLowerCase(), build.dataplanPg.TYPES.text)}]::text[]`,
  ),
  addPgTableCondition(
    table,
    "postedSince",
    (build) => ({ type: build.getTypeByName("Datetime") as GraphQLInputType, description: "Only jobs first published at or after this time." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null ? null : sql`${sqlTableAlias}.published_at >= ${sqlValueWithCodec(value, build.dataplanPg.TYPES.timestamptz)}`,
  ),
  addPgTableCondition(
    table,
    "salaryFrom",
    (build) => ({
      type: build.graphql.GraphQLFloat,
      description: "Only jobs whose salary range reaches at least this amount (its max, or its min when it has no max, is ≥ it). With salaryTo: ranges overlapping [salaryFrom, salaryTo]. Combine with salaryCurrency and salaryPeriod.",
    }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null
        ? null
        : sql`${sqlTableAlias}.salary_range && numrange(${sqlValueWithCodec(String(value), build.dataplanPg.TYPES.numeric)}, null, '[]')`,
  ),
  addPgTableCondition(
    table,
    "salaryTo",
    (build) => ({
      type: build.graphql.GraphQLFloat,
      description: "Only jobs whose salary range starts at or below this amount. With salaryFrom: ranges overlapping [salaryFrom, salaryTo].",
    }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null
        ? null
        : sql`${sqlTableAlias}.salary_range && numrange(null, ${sqlValueWithCodec(String(value), build.dataplanPg.TYPES.numeric)}, '[]')`,
  ),
];
