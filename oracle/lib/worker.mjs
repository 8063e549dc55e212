// worker_threads entry: judges texts sent by lib/pool.mjs.
import { parentPort } from 'node:worker_threads';
import { judge } from '../judge.mjs';

parentPort.on('message', (m) => {
  let result, error = null;
  try {
    result = judge(m.text, m.opts);
  } catch (e) {
    error = String(e && e.stack || e);
  }
  parentPort.postMessage({ id: m.id, result, error });
});
parentPort.postMessage({ ready: true });
