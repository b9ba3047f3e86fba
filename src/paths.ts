/**
 * The project's root directory: the nearest directory above this file that
 * holds package.json. The same answer from src/ (ts-jest), dist/src/ (the
 * build and the image) and dist-bench/src/ (the benchmark's own build).
 */
import fs from "node:fs";
import path from "node:path";

function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "package.json"))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`No package.json above ${from}`);
  }
}

export const PROJECT_ROOT = projectRoot(__dirname);
