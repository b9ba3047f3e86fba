/** The project's root directory, whether running from src/ (ts) or dist/src/ (compiled). */
import path from "node:path";

const here = __dirname;
export const PROJECT_ROOT = here.includes(`${path.sep}dist${path.sep}`)
  ? path.resolve(here, "..", "..")
  : path.resolve(here, "..");
