/**
 * Markdown rendered to sanitised HTML: `bodyHtml` on posts, questions,
 * answers, comments and chat messages; `descriptionHtml`, `requirementsHtml`
 * and `responsibilitiesHtml` on job postings.
 */
import { lambda, type ExecutableStep } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import { renderMarkdown } from "./render-markdown";

const TYPES = ["Post", "Question", "Answer", "Comment", "Message"] as const;
/** Job posting fields: the HTML field, the markdown column, whether the column may be null. */
const JOB_FIELDS = [
  ["descriptionHtml", "description", false],
  ["requirementsHtml", "requirements", true],
  ["responsibilitiesHtml", "responsibilities", true],
] as const;
const SANITISED = "rendered from markdown to sanitised HTML (no scripts, event handlers or javascript: links)";

type Row = ExecutableStep & { get(attr: string): ExecutableStep };
const html = (column: string, nullable: boolean) => ($row: Row) =>
  lambda($row.get(column), (source) => (nullable && source == null ? null : renderMarkdown(source as string | null)), true);

export const MarkdownPlugin = extendSchema(() => ({
  typeDefs: gql`
    ${TYPES.map(
      (type) => `extend type ${type} {
        "The body ${SANITISED}."
        bodyHtml: String!
      }`,
    ).join("\n")}
    extend type JobPosting {
      ${JOB_FIELDS.map(([field, column, nullable]) => `"The ${column} ${SANITISED}${nullable ? "; null when there is none" : ""}."
      ${field}: String${nullable ? "" : "!"}`).join("\n")}
    }
  `,
  objects: {
    ...Object.fromEntries(TYPES.map((type) => [type, { plans: { bodyHtml: html("body", false) } }])),
    JobPosting: { plans: Object.fromEntries(JOB_FIELDS.map(([field, column, nullable]) => [field, html(column, nullable)])) },
  },
}));
