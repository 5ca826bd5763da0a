// run-wasi.js — run a wasm32-wasi module under Node.js for the shell tests
// (node_run in common.sh): node run-wasi.js MODULE.wasm [ARGS...]. The program
// sees argv = [MODULE, ARGS...] and an empty environment; kafu.migration_point
// is a no-op, so a Snapified module runs as a plain one. Exit code = the
// program's, 99 when it could not be instantiated.
const { WASI } = require("node:wasi");
const fs = require("fs");
const wasi = new WASI({ version: "preview1", args: process.argv.slice(2), env: {}, returnOnExit: true });
const imports = wasi.getImportObject();
imports.kafu = { migration_point: () => {} };
WebAssembly.instantiate(fs.readFileSync(process.argv[2]), imports)
  .then(({ instance }) => process.exit(wasi.start(instance)))
  .catch((e) => { console.error(e); process.exit(99); });
