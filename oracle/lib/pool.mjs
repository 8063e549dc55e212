// A pool of worker threads running judge(), with a per-statement watchdog: analyzeQuery is
// synchronous and can fail to return (it never returns on ''), so a worker that exceeds the
// timeout is terminated, replaced, and the statement gets validity 'undecided'.
import { Worker } from 'node:worker_threads';

const WORKER_URL = new URL('./worker.mjs', import.meta.url);

export class JudgePool {
  constructor({ workers = 2, timeoutMs = 60000 } = {}) {
    this.size = Math.max(1, workers);
    this.timeoutMs = timeoutMs;
    this.queue = [];
    this.idle = [];
    this.nextId = 0;
    this.timeouts = 0;
    this.workers = new Set();
    for (let i = 0; i < this.size; i++) this.#spawn();
  }

  #spawn() {
    const w = new Worker(WORKER_URL);
    w.job = null;
    this.workers.add(w);
    w.on('message', (m) => {
      if (m.ready) { this.idle.push(w); this.#pump(); return; }
      const job = w.job;
      if (!job || job.id !== m.id) return;
      clearTimeout(job.timer);
      w.job = null;
      this.idle.push(w);
      if (m.error) job.reject(new Error(m.error));
      else job.resolve(m.result);
      this.#pump();
    });
    w.on('error', (e) => {
      const job = w.job;
      this.workers.delete(w);
      if (job) { clearTimeout(job.timer); job.reject(e); }
      if (!this.closed) this.#spawn();
    });
  }

  #pump() {
    while (this.idle.length && this.queue.length) {
      const w = this.idle.shift();
      const job = this.queue.shift();
      w.job = job;
      job.timer = setTimeout(() => this.#timeout(w, job), this.timeoutMs);
      w.postMessage({ id: job.id, text: job.text, opts: job.opts });
    }
  }

  #timeout(w, job) {
    if (w.job !== job) return;
    this.timeouts++;
    w.job = null;
    this.workers.delete(w);
    w.terminate();
    job.resolve({ timeout: true });
    if (!this.closed) this.#spawn();
  }

  judge(text, opts = {}) {
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, text, opts, resolve, reject });
      this.#pump();
    });
  }

  async close() {
    this.closed = true;
    await Promise.all([...this.workers].map((w) => w.terminate()));
  }
}

// Verdict for a statement whose analysis timed out: structure only (computed in-process,
// without analyzeQuery), validity 'undecided'.
export async function timeoutVerdict(text, timeoutMs) {
  const { judge } = await import('../judge.mjs');
  const v = judge(text, { versions: 'none' });
  v.validity = 'undecided';
  v.valid = false;
  v.notes.push(`analysis timed out after ${timeoutMs} ms (worker terminated)`);
  return v;
}
