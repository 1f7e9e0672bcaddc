// Mermaid's own parser on `wirelab graph --format mermaid` output. jsdom
// stands in for the browser mermaid expects (it sanitizes labels with
// DOMPurify, which needs a DOM).
//
//   node parse.mjs FILE...    one line per file:
//                             FILE ok TYPE NODES EDGES  or  FILE error MESSAGE
//
// Exit status: 0 when every file parses, 1 otherwise.
import { readFileSync } from 'node:fs';
import { JSDOM } from 'jsdom';

const dom = new JSDOM('<!DOCTYPE html><body></body>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, securityLevel: 'strict' });

let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const diagram = await mermaid.mermaidAPI.getDiagramFromText(readFileSync(file, 'utf8'));
    const nodes = diagram.db.getVertices().size;
    const edges = diagram.db.getEdges().length;
    console.log(`${file} ok ${diagram.type} ${nodes} ${edges}`);
  } catch (e) {
    console.log(`${file} error ${String(e.message).replaceAll('\n', ' ')}`);
    failed++;
  }
}
process.exit(failed ? 1 : 0);
