/**
 * Imports go one way: src/ assembles the GraphQL preset from plugins/, so
 * plugins/ imports nothing from src/; and the product (src/, plugins/) does
 * not import the benchmark (bench/), which is built on its own.
 */
import fs from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../../src/paths";

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(rel);
    return entry.name.endsWith(".ts") ? [rel] : [];
  });
}

/** Every relative import of a file, resolved to a path from the project root. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(PROJECT_ROOT, file), "utf8");
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1]);
  return specifiers.map((s) => path.relative(PROJECT_ROOT, path.resolve(PROJECT_ROOT, path.dirname(file), s)));
}

function offenders(dirs: string[], forbidden: string[]): string[] {
  return dirs
    .flatMap(sources)
    .flatMap((file) => importsOf(file).filter((target) => forbidden.some((f) => target.startsWith(`${f}/`))).map((target) => `${file} → ${target}`));
}

describe("import direction", () => {
  it("finds the imports it checks (src/ imports plugins/)", () => {
    expect(offenders(["src"], ["plugins"]).length).toBeGreaterThan(0);
  });

  it("plugins/ imports nothing from src/ or bench/", () => {
    expect(offenders(["plugins"], ["src", "bench"])).toEqual([]);
  });

  it("src/ imports nothing from bench/", () => {
    expect(offenders(["src"], ["bench"])).toEqual([]);
  });
});
