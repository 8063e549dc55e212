// The JavaScript twin of agent.py: an agent (userAgent agent/1.0, through $PROXY) tries
// to write auto-commit, in an explicit transaction and with executeQuery in database
// alpha; after each, whether the session still answers. An admin (directly, $DIRECT)
// counts what was written. Prints one JSON object.
//   node agent.mjs --driver neo4j-driver-6   (environment: RUN, PW, DIRECT, PROXY)

import { loadDriver, parseOptions, run } from '../driver.mjs';

const { options } = parseOptions(process.argv.slice(2));
const neo4j = loadDriver(options.driver, 'agent.mjs');
const env = process.env;

run(async () => {
  const auth = neo4j.auth.basic('root', env.PW);
  const agent = neo4j.driver(env.PROXY, auth, { userAgent: 'agent/1.0' });
  const admin = neo4j.driver(env.DIRECT, auth);
  const params = { run: env.RUN };
  const res = {};
  const s = agent.session({ database: 'alpha' });
  try { await s.run('CREATE (:Gov {run: $run})', params); res.auto = 'allowed'; }
  catch (e) { res.auto = [e.code, e.message]; }
  res.after = (await s.run('RETURN 1 AS x')).records[0].get('x').toNumber();
  const tx = s.beginTransaction();
  try { await tx.run('CREATE (:Gov {run: $run})', params); res.tx = 'allowed'; }
  catch (e) { res.tx = [e.code, e.message]; }
  try { await tx.rollback(); } catch (e) { /* already failed */ }
  try { await agent.executeQuery('CREATE (:Gov {run: $run})', params, { database: 'alpha' }); res.eq = 'allowed'; }
  catch (e) { res.eq = [e.code, e.message]; }
  res.after_tx = (await s.run('RETURN 2 AS x')).records[0].get('x').toNumber();
  const c = await admin.executeQuery('MATCH (n:Gov {run: $run}) RETURN count(n) AS c', params, { database: 'alpha' });
  res.count = c.records[0].get('c').toNumber();
  console.log(JSON.stringify(res));
  await s.close(); await agent.close(); await admin.close();
});
