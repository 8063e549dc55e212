#!/usr/bin/env node
// Prints the package's testData.mockSchema: the procedure and
// function catalog (a dbms.procedures()/dbms.functions() dump of a server with APOC and GDS)
// for both Cypher versions. Data, not truth for a given deployment.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PKG_VERSION } from './lib/paths.mjs';

const require = createRequire(import.meta.url);
const { testData } = require('@neo4j-cypher/language-support');
const ms = testData.mockSchema;

const procs = (v) =>
  Object.values(ms.procedures[v])
    .map((p) => ({
      name: p.name,
      mode: p.mode,
      worksOnSystem: p.worksOnSystem ?? null,
      isDeprecated: p.isDeprecated ?? null,
      deprecatedBy: p.deprecatedBy ?? null,
      signature: p.signature,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
const funcs = (v) =>
  Object.values(ms.functions[v])
    .map((f) => ({
      name: f.name,
      category: f.category ?? null,
      isBuiltIn: f.isBuiltIn ?? null,
      aggregating: f.aggregating ?? null,
      isDeprecated: f.isDeprecated ?? null,
      deprecatedBy: f.deprecatedBy ?? null,
      signature: f.signature,
    }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));

// Printed, not stored: the package is the source (`node catalog-dump.mjs > catalog.json`).
// One JSON object: {"CYPHER 25": {procedures, functions}, "CYPHER 5": {procedures, functions}}.
const out = {};
for (const v of ['CYPHER 25', 'CYPHER 5']) out[v] = { procedures: procs(v), functions: funcs(v) };
process.stdout.write(JSON.stringify(out) + '\n');
console.error(`source: @neo4j-cypher/language-support@${PKG_VERSION} testData.mockSchema; ` +
  `procedures 25/5: ${procs('CYPHER 25').length}/${procs('CYPHER 5').length}, ` +
  `functions 25/5: ${funcs('CYPHER 25').length}/${funcs('CYPHER 5').length}`);
