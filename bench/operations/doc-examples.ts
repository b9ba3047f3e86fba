/**
 * The GraphQL examples of the documentation: every ```graphql block of
 * README.md and docs/**.md, so tests can run them and the text cannot drift
 * from the API.
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths";

export interface DocExample {
  /** Where it stands, e.g. "README.md:532". */
  where: string;
  document: string;
  /** The code the example is documented to fail with (`# expect: CODE` on its first line), if any. */
  expectCode: string | null;
}

function markdownFiles(): string[] {
  const files = [path.join(PROJECT_ROOT, "README.md")];
  const walk = (dir: string): void => {
    if (!fs.existsSync(dir)) return;
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith(".md")) files.push(full);
    }
  };
  walk(path.join(PROJECT_ROOT, "docs"));
  return files;
}

export function graphqlExamples(): DocExample[] {
  const examples: DocExample[] = [];
  for (const file of markdownFiles()) {
    const lines = fs.readFileSync(file, "utf8").split("\n");
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() !== "```graphql") continue;
      const start = i + 1;
      let end = start;
      while (end < lines.length && lines[end].trim() !== "```") end++;
      const document = lines.slice(start, end).join("\n");
      const expect = /^#\s*expect:\s*([A-Z]{5,8})\b/.exec(lines[start] ?? "");
      examples.push({ where: `${path.relative(PROJECT_ROOT, file)}:${start + 1}`, document, expectCode: expect ? expect[1] : null });
      i = end;
    }
  }
  return examples;
}
