// Summarise V8 .cpuprofile files from `npm run bench -- --cpu-prof` (the measured rounds of each
// target): where the event loop's time goes, by category, by package or file, and by function.
//   node bench/profile-summary.js [--top N] bench/profiles/ES256-router-memory-round*.cpuprofile
//
// Times are samples of the main thread (the event loop); the thread pool's signing is not in
// them. With the runner's request counts, they are also given in µs per request.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals: files } = parseArgs({
  options: { top: { type: 'string', default: '20' } },
  allowPositionals: true,
});
const top = Number(values.top);

/**
 * Categories, tried from a sample's own frame up through its callers: the first that matches
 * names the sample. So a socket write under `sendJson` counts as HTTP, and a SHA-256 under
 * `hashSecret` as codes and refresh tokens.
 */
const CATEGORIES = [
  ['GC', (frame) => frame.functionName === '(garbage collector)'],
  [
    'signing (JWS, node:crypto / jose)',
    (frame) =>
      /\/dist\/(jws|tokens)\.js$|node_modules\/jose\/|^node:internal\/crypto\/(sig|webcrypto|ec|rsa|util)$/.test(
        frame.url,
      ),
  ],
  [
    'validation',
    (frame) => /\/dist\/validation\.js$|node_modules\/(express-validator|lodash|validator)\//.test(frame.url),
  ],
  [
    'body parsing',
    (frame) =>
      /\/dist\/form-body\.js$|node_modules\/(qs|body-parser|raw-body|type-is|content-type|iconv-lite|media-typer)\//.test(
        frame.url,
      ),
  ],
  [
    'codes, PKCE, refresh tokens',
    (frame) => /\/dist\/(adapters\/.*|secrets|pkce|authorization-code)\.js$/.test(frame.url),
  ],
  [
    'HTTP (node:http, sockets, streams)',
    (frame) =>
      /^node:(_http_|net|internal\/streams|internal\/stream_base_commons|events)/.test(frame.url) ||
      frame.functionName === 'writev',
  ],
  ['JSON response', (frame) => /\/dist\/respond\.js$|node_modules\/express\/lib\/response\.js$/.test(frame.url)],
  [
    'Express routing',
    (frame) => /\/dist\/router\.js$|node_modules\/(express|router|parseurl|finalhandler|vary)\//.test(frame.url),
  ],
  // The rest of the library (the grant's steps, claims, events, CORS), and the reference handler's own code.
  [
    "the endpoint's own code (grant steps, claims, CORS, events)",
    (frame) => /\/dist\/.*\.js$|\/bench\/reference\.js$/.test(frame.url),
  ],
];

let busy = 0;
let requests = 0;
const byCategory = new Map();
const byPlace = new Map();
const byFunction = new Map();
const add = (table, key, micros) => table.set(key, (table.get(key) ?? 0) + micros);

const where = ({ url }) => {
  if (url === '') return '(native / V8)';
  const modules = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (modules) return modules[1];
  if (url.startsWith('node:')) return url;
  const local = url.match(/\/(dist|bench|example-app)\/(.*)$/);
  return local ? `${local[1]}/${local[2]}` : url;
};

for (const file of files) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  requests += profile.benchRequests ?? 0;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const stack = (id) => {
    const frames = [];
    for (let at = id; at !== undefined; at = parents.get(at)) frames.push(nodes.get(at).callFrame);
    return frames;
  };
  const selfMicros = new Map();
  for (const [index, id] of profile.samples.entries()) add(selfMicros, id, profile.timeDeltas[index] ?? 0);
  for (const [id, micros] of selfMicros) {
    const frames = stack(id);
    const [leaf] = frames;
    if (leaf.functionName === '(idle)' || leaf.functionName === '(program)') continue;
    // The profiler's own start-up, at the start of each round, is not the endpoint's work.
    if (frames.some((frame) => frame.functionName === 'profile-start')) continue;
    busy += micros;
    let category = 'other';
    for (const frame of frames) {
      const found = CATEGORIES.find(([, matches]) => matches(frame));
      if (found !== undefined) {
        category = found[0];
        break;
      }
    }
    add(byCategory, category, micros);
    add(byPlace, where(leaf), micros);
    add(byFunction, `${leaf.functionName || '(anonymous)'}  ${where(leaf)}:${leaf.lineNumber + 1}`, micros);
  }
}

const print = (title, table, limit) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...table].sort((a, b) => b[1] - a[1]).slice(0, limit)) {
    const perRequest = requests > 0 ? `${(micros / requests).toFixed(1).padStart(7)} µs/req` : '';
    console.log(
      `${((100 * micros) / busy).toFixed(1).padStart(6)}%  ${(micros / 1000).toFixed(0).padStart(7)} ms ${perRequest}  ${name}`,
    );
  }
};
console.log(
  `event loop busy: ${(busy / 1000).toFixed(0)} ms` +
    (requests > 0 ? ` over ${requests} requests, ${(busy / requests).toFixed(1)} µs a request` : ''),
);
print('by category (a sample goes to the nearest frame that has one)', byCategory, Infinity);
print('self time by package or file', byPlace, top);
print('self time by function', byFunction, top);
