// A driver in front of a cluster, through boltward: neo4j:// routing (see cluster.py).
//
//   node cluster.mjs neo4j-driver-5|neo4j-driver-6 URI cluster|connect
//
// Prints one JSON object: {"writes": n, "reads": n, "errors": [{type, code, message}]}.
import { loadDriver } from './driver.mjs';

const [name, uri, mode] = process.argv.slice(2);
const neo4j = loadDriver(name, 'cluster.mjs');

const out = { writes: 0, reads: 0, errors: [] };
const driver = neo4j.driver(uri, neo4j.auth.basic('neo4j', 'pw'));
try {
  if (mode === 'cluster') {
    for (let i = 0; i < 10; i++) {
      const s = driver.session({ database: 'neo4j' });
      try {
        await s.executeWrite((tx) => tx.run('CREATE (n) RETURN 1 AS WRITE'));
        out.writes += 1;
        await s.executeRead((tx) => tx.run('RETURN 1 AS x'));
        out.reads += 1;
      } finally {
        await s.close();
      }
    }
  } else {
    const s = driver.session({ database: 'neo4j' });
    try {
      await s.run('RETURN 1 AS x');
      out.reads += 1;
    } finally {
      await s.close();
    }
  }
} catch (e) {
  out.errors.push({ type: e.constructor.name, code: e.code ?? null, message: String(e.message) });
} finally {
  await driver.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
