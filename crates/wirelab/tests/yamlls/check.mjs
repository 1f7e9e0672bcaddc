// Runs yaml-language-server's language service (the one VS Code's YAML
// extension and neovim's yamlls run) on lab files, as an editor would: the
// schema comes from each file's `# yaml-language-server: $schema=` first
// line, resolved from the file's folder, and is read from disk.
//
//   node check.mjs FILE...                 one line per diagnostic:
//                                          FILE:LINE:COLUMN: message
//   node check.mjs --hover FILE LINE COL   the hover text at that place
//
// Exit status: 0 no diagnostics (or a hover was found), 1 otherwise.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as l10n from '@vscode/l10n';
import { TextDocument } from 'vscode-languageserver-textdocument';
import yamlls from 'yaml-language-server';

// The English messages, loaded as the server loads them.
const here = path.dirname(fileURLToPath(import.meta.url));
await l10n.config({
  uri: pathToFileURL(path.join(here, 'node_modules/yaml-language-server/l10n/bundle.l10n.json')).toString(),
});

const service = yamlls.getLanguageService({
  schemaRequestService: async (uri) => readFileSync(fileURLToPath(uri), 'utf8'),
  // What the server does: a relative $schema is resolved from the file.
  workspaceContext: { resolveRelativePath: (relative, resource) => new URL(relative, resource).toString() },
});
service.configure({ validate: true, hover: true, completion: true, yamlVersion: '1.2' });

function open(file) {
  const uri = pathToFileURL(path.resolve(file)).toString();
  return TextDocument.create(uri, 'yaml', 1, readFileSync(file, 'utf8'));
}

const args = process.argv.slice(2);
if (args[0] === '--hover') {
  const [, file, line, column] = args;
  const hover = await service.doHover(open(file), { line: Number(line) - 1, character: Number(column) - 1 });
  const text = hover ? [hover.contents].flat().map((c) => c.value ?? c).join('\n') : '';
  console.log(text);
  process.exit(text ? 0 : 1);
}
let found = 0;
for (const file of args) {
  for (const d of await service.doValidation(open(file), false)) {
    console.log(`${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`);
    found++;
  }
}
process.exit(found ? 1 : 0);
