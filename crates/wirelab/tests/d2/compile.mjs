// D2's own compiler and renderer (the WASM build of d2, as D2.js) on
// `wirelab graph --format d2` output.
//
//   node compile.mjs FILE...   one JSON line per file:
//                              {"file", "shapes": [{"id", "label"}], "connections": N, "svg": BYTES}
//                              or {"file", "error"}
//
// Exit status: 0 when every file compiles and renders, 1 otherwise.
import { readFileSync } from 'node:fs';
import { D2 } from '@terrastruct/d2';

const d2 = new D2();
let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await d2.compile(readFileSync(file, 'utf8'));
    const svg = await d2.render(result.diagram, result.renderOptions);
    const shapes = result.diagram.shapes.map((s) => ({ id: s.id, label: s.label }));
    const connections = result.diagram.connections.length;
    console.log(JSON.stringify({ file, shapes, connections, svg: svg.length }));
  } catch (e) {
    console.log(JSON.stringify({ file, error: String(e.message ?? e) }));
    failed++;
  }
}
// The WASM worker keeps node alive: leave explicitly.
process.exit(failed ? 1 : 0);
