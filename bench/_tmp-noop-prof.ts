import { performance } from 'node:perf_hooks';
import path from 'node:path';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { TaskGraph } from '/work/main/buildchain/engine/graph.ts';
import { runSchedule } from '/work/main/buildchain/engine/scheduler.ts';
import { openSession, saveSession } from '/work/main/buildchain/engine/session.ts';
import { fn } from '/work/main/buildchain/engine/task.ts';
import { copyFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const sess = new Session(); sess.connect(); await sess.post('Profiler.enable'); await sess.post('Profiler.setSamplingInterval', { interval: 100 });
const n = 10000;
const root = await mkdtemp(path.join(os.tmpdir(), 'np-'));
await mkdir(root + '/src'); await mkdir(root + '/out');
for (let i = 0; i < n; i++) await writeFile(`${root}/src/${i}.txt`, 'x'.repeat(1024));
process.chdir(root);
const defs = () => { const t: any[] = []; const outs: string[] = []; for (let i = 0; i < n; i++) { outs.push(`out/${i}.txt`); t.push({ name: `copy:${i}`, fileDeps: [`src/${i}.txt`], targets: [`out/${i}.txt`], actions: [fn('copy@1', () => copyFile(`src/${i}.txt`, `out/${i}.txt`))] }); } t.push({ name: 'concat', fileDeps: outs, targets: [], actions: [fn('c', async () => {})] }); return t; };
for (const phase of ['cold', 'noop', 'noop2']) {
  if (phase === 'noop') await sess.post('Profiler.start');
  let t = performance.now(); const lap = (l: string) => { const x = performance.now(); console.log(phase, l, (x - t).toFixed(0), 'ms'); t = x; };
  const d = defs(); lap('defs');
  const g = new TaskGraph(root, d); const sel = g.select(['concat']); lap('graph');
  const s = openSession(root + '/_build/.bc', root, {}); lap('open');
  const r = await runSchedule({ graph: g, selected: sel, workers: 1, keepGoing: false, dryRun: false, alwaysMake: false, verbose: false, state: s.state, hasher: s.hasher, tools: s.tools, envValues: {}, reporter: { emit() {}, close: async () => {} }, signal: new AbortController().signal }); lap('schedule ' + JSON.stringify(r.counts));
  await saveSession(s); lap('save');
  if (phase === 'noop') { const { profile } = await sess.post('Profiler.stop'); writeFileSync('/tmp/noop2.cpuprofile', JSON.stringify(profile)); }
}
