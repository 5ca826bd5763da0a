// run-node.mjs — run a wasm32-wasi command module under Node.js (node:wasi,
// preview1), the independent engine bench/overhead.sh compares against:
//   node --no-warnings bench/run-node.mjs MODULE.wasm [ARGS...]
// Exits with the program's exit code; the program sees argv = [MODULE, ARGS...],
// an empty environment and the current directory preopened as ".".
import { readFileSync } from 'node:fs';
import { argv, exit } from 'node:process';
import { WASI } from 'node:wasi';

if (argv.length < 3) {
  console.error('usage: node run-node.mjs MODULE.wasm [ARGS...]');
  exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: argv.slice(2),
  env: {},
  preopens: { '.': '.' },
  returnOnExit: true,
});
const module = await WebAssembly.compile(readFileSync(argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
exit(wasi.start(instance));
