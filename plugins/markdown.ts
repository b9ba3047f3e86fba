/** `bodyHtml` on posts, questions, answers, comments and chat messages: the markdown body rendered and sanitised. */
import { lambda, type ExecutableStep } from "postgraphile/grafast";
import { extendSchema, gql } from "postgraphile/utils";
import { renderMarkdown } from "./render-markdown";

const TYPES = ["Post", "Question", "Answer", "Comment", "Message"] as const;

export const MarkdownPlugin = extendSchema(() => ({
  typeDefs: gql`
    ${TYPES.map(
      (type) => `extend type ${type} {
        "The body rendered from markdown to sanitised HTML (no scripts, event handlers or javascript: links)."
        bodyHtml: String!
      }`,
    ).join("\n")}
  `,
  objects: Object.fromEntries(
    TYPES.map((type) => [
      type,
      {
        plans: {
          bodyHtml($row: ExecutableStep & { get(attr: string): ExecutableStep }) {
            return lambda($row.get("body"), (body) => renderMarkdown(body as string | null), true);
          },
        },
      },
    ]),
  ),
}));
