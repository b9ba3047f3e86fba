/**
 * List filters on job postings beyond the leakproof column conditions
 * (location, categoryId, salaryCurrency, employerId: equality on text and
 * uuid, which PostgreSQL may check through an index before the row policy):
 * `tag`, `employmentType`, `workplace`, `salaryOverlaps: { from, to }`
 * (salary ranges overlapping [from, to]) and `postedSince`.
 *
 * Enum and array and range operators are not leakproof: under row-level
 * security PostgreSQL checks the policy on every row before them and never
 * uses their indexes. So those filters keep the rows whose id is in the
 * set an app_hidden.job_postings_* function returns (security definer:
 * the visibility rule restated, and the index). docs/jobs.md.
 */
import type { GraphQLInputType } from "postgraphile/graphql";
import { addPgTableCondition } from "postgraphile/utils";

const table = { schemaName: "app_public", tableName: "job_postings" };

/** The input of the salaryOverlaps condition. */
const SalaryRangeInputPlugin: GraphileConfig.Plugin = {
  name: "JobSalaryRangeInputPlugin",
  version: "0.0.0",
  schema: {
    hooks: {
      init(_, build) {
        const { GraphQLFloat } = build.graphql;
        build.registerInputObjectType(
          "JobSalaryRangeInput",
          {},
          () => ({
            description: "A salary range to match jobs against; either end may be left out (open).",
            fields: {
              from: { type: GraphQLFloat, description: "The lowest amount wanted; jobs whose range reaches it match (a range without max always does)." },
              to: { type: GraphQLFloat, description: "The highest amount wanted; jobs whose range starts at or below it match (a range without min always does)." },
            },
          }),
          "JobSalaryRangeInputPlugin",
        );
        return _;
      },
    },
  },
};

export const JobFilterPlugins: GraphileConfig.Plugin[] = [
  SalaryRangeInputPlugin,
  addPgTableCondition(
    table,
    "tag",
    (build) => ({ type: build.graphql.GraphQLString, description: "Only jobs carrying this tag." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null
        ? null
        : sql`${sqlTableAlias}.id in (select app_hidden.job_postings_tagged(${sqlValueWithCodec(String(value), build.dataplanPg.TYPES.text)}))`,
  ),
  addPgTableCondition(
    table,
    "employmentType",
    (build) => ({ type: build.getTypeByName("JobEmploymentType") as GraphQLInputType, description: "Only jobs of this employment type." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null
        ? null
        : sql`${sqlTableAlias}.id in (select app_hidden.job_postings_of_type(${sqlValueWithCodec(String(value), build.dataplanPg.TYPES.text)}::app_public.job_employment_type))`,
  ),
  addPgTableCondition(
    table,
    "workplace",
    (build) => ({ type: build.getTypeByName("JobWorkplace") as GraphQLInputType, description: "Only jobs with this workplace (remote, hybrid, on site)." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null
        ? null
        : sql`${sqlTableAlias}.id in (select app_hidden.job_postings_with_workplace(${sqlValueWithCodec(String(value), build.dataplanPg.TYPES.text)}::app_public.job_workplace))`,
  ),
  addPgTableCondition(
    table,
    "salaryOverlaps",
    (build) => ({
      type: build.getTypeByName("JobSalaryRangeInput") as GraphQLInputType,
      description: "Only jobs whose salary range overlaps [from, to]. Combine with salaryCurrency; amounts are per the job's salaryPeriod.",
    }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) => {
      if (value == null) return null;
      const { from, to } = value as { from?: number | null; to?: number | null };
      const bound = (n: number | null | undefined) => (n == null ? sql`null` : sqlValueWithCodec(String(n), build.dataplanPg.TYPES.numeric));
      return sql`${sqlTableAlias}.id in (select app_hidden.job_postings_by_salary(${bound(from)}, ${bound(to)}))`;
    },
  ),
  addPgTableCondition(
    table,
    "postedSince",
    (build) => ({ type: build.getTypeByName("Datetime") as GraphQLInputType, description: "Only jobs first published at or after this time." }),
    (value, { sql, sqlTableAlias, sqlValueWithCodec, build }) =>
      value == null ? null : sql`${sqlTableAlias}.published_at >= ${sqlValueWithCodec(value, build.dataplanPg.TYPES.timestamptz)}`,
  ),
];
