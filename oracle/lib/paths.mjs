// Locations inside the pinned @neo4j-cypher/language-support package. Its `exports` map does
// not expose these subpaths, so they are imported by file URL.
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const cjsEntry = require.resolve('@neo4j-cypher/language-support'); // …/dist/cjs/index.cjs
export const PKG_ROOT = path.resolve(path.dirname(cjsEntry), '..', '..');
export const PKG_VERSION = require(path.join(PKG_ROOT, 'package.json')).version;
export const SRC = path.join(PKG_ROOT, 'dist/esm/project/language-support/src');
export const SEMANTIC_ANALYSIS = path.join(SRC, 'syntaxValidation/semanticAnalysis.js');
export const LEXER_URL = pathToFileURL(path.join(SRC, 'generated-parser/CypherCmdLexer.js')).href;
export const PARSER_URL = pathToFileURL(path.join(SRC, 'generated-parser/CypherCmdParser.js')).href;
// The antlr4ng module that the generated parser itself resolves (bare specifier from its dir).
export const ANTLR_PATH = createRequire(path.join(SRC, 'generated-parser/CypherCmdParser.js'))
  .resolve('antlr4ng')
  .replace(/index\.cjs$/, 'index.mjs');
export const ANTLR_URL = pathToFileURL(ANTLR_PATH).href;
export { cjsEntry as CJS_ENTRY };
