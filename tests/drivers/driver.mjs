// Loads a Node driver package for the scripts here: from
// $BOLTWARD_TESTENV/node/node_modules (default: <repo>/.testenv/node), then from NODE_PATH.
// Also reads the `--driver NAME` option every script takes.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function loadDriver(name, who) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const testenv = process.env.BOLTWARD_TESTENV || path.resolve(here, '..', '..', '.testenv');
  const attempts = [path.join(testenv, 'node', 'package.json'), import.meta.url];
  let lastErr;
  for (const base of attempts) {
    try {
      return createRequire(base)(name); // the second one also honours NODE_PATH
    } catch (e) {
      lastErr = e;
    }
  }
  process.stderr.write(`${who}: cannot load ${name} (run scripts/setup-testenv.sh?): ${lastErr}\n`);
  process.exit(2);
}

/// `--name value` options and the remaining arguments.
export function parseOptions(argv) {
  const options = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      options[argv[i].slice(2)] = argv[i + 1];
      i++;
    } else {
      rest.push(argv[i]);
    }
  }
  return { options, rest };
}

/// Runs `main` and exits 1 with the error on stderr if it throws.
export function run(main) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
