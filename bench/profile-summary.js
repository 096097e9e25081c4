// Summarise V8 .cpuprofile files (from `npm run bench -- --cpu-prof`): self time by function and
// by package or file, as shares of the busy (non-idle) main-thread time, over all files given.
//   node bench/profile-summary.js [--top N] bench/profiles/RS256-router-memory-round*.cpuprofile
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals: files } = parseArgs({ options: { top: { type: 'string', default: '25' } }, allowPositionals: true });
const top = Number(values.top);
/** [callFrame, self microseconds] of every profile node of every file. */
const selfTimes = [];
for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfMicros = new Map();
  for (let index = 0; index < profile.samples.length; index++) {
    const id = profile.samples[index];
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  }
  for (const [id, micros] of selfMicros) selfTimes.push([nodes.get(id).callFrame, micros]);
}

const where = ({ url }) => {
  if (url === '') return '(native / V8)';
  const modules = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (modules) return modules[1];
  if (url.startsWith('node:')) return url;
  const local = url.match(/\/(dist|bench|example-app)\/(.*)$/);
  return local ? `${local[1]}/${local[2]}` : url;
};

const byFunction = new Map();
const byPlace = new Map();
let busy = 0;
for (const [callFrame, micros] of selfTimes) {
  if (callFrame.functionName === '(idle)' || callFrame.functionName === '(program)') continue;
  busy += micros;
  const name = `${callFrame.functionName || '(anonymous)'}  ${where(callFrame)}:${callFrame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  const place = where(callFrame);
  byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
}

const print = (title, table) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * micros) / busy).toFixed(1).padStart(6)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
};
console.log(`busy (main thread, not idle or (program)): ${(busy / 1000).toFixed(0)} ms`);
print('self time by package or file', byPlace);
print('self time by function', byFunction);
