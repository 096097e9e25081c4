import { checkSchema, type Schema } from 'express-validator';
import type { FormParams } from '../lib/form-body.js';
import { isWellFormedVerifier } from '../lib/pkce.js';
import { compilePrecheck } from '../lib/schema-precheck.js';

/** The schema members the token endpoint's validation uses, on fields like its own. */
const SCHEMA: Schema = {
  client_id: {
    in: ['body'],
    exists: { options: { values: 'falsy' }, errorMessage: 'a', bail: true },
    isLength: { options: { max: 16 }, errorMessage: 'a', bail: true },
    matches: { options: /^[\x21-\x7E]+$/, errorMessage: 'a' },
  },
  grant_type: { in: ['body'], isIn: { options: [['authorization_code']], errorMessage: 'b' } },
  code_verifier: {
    in: ['body'],
    exists: { options: { values: 'falsy' }, errorMessage: 'c', bail: true },
    custom: { options: isWellFormedVerifier, errorMessage: 'd' },
  },
  scope: {
    in: ['body'],
    optional: { options: { values: 'falsy' } },
    isLength: { options: { max: 16 }, errorMessage: 'e', bail: true },
    matches: { options: /^[a-z_ ]+$/, errorMessage: 'e' },
  },
  hint: { in: ['body'], optional: true, isLength: { options: { max: 16 }, errorMessage: 'f' } },
};

async function expressValidatorPasses(schema: Schema, body: FormParams): Promise<boolean> {
  for (const chain of checkSchema(schema)) {
    const result = await chain.run({ body }, { dryRun: true });
    if (!result.isEmpty()) return false;
  }
  return true;
}

/** A small seeded generator, so a failure names a body that can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VALUES = [
  undefined,
  '',
  ' ',
  'web',
  'authorization_code',
  'refresh_token',
  'x'.repeat(16),
  'x'.repeat(17),
  'a b',
  'é',
  '\u0000',
  '😀'.repeat(8),
  '😀'.repeat(9), // 18 UTF-16 units, 9 characters to validator.js
  '❤\uFE0F'.repeat(9),
  'v'.repeat(42),
  'v'.repeat(43),
  '-._~'.repeat(32),
  'v'.repeat(129),
  `${'v'.repeat(42)}+`,
];

describe('schema precheck (a quick yes for requests express-validator accepts)', () => {
  const precheck = compilePrecheck(SCHEMA);
  const next = random(7);
  const bodies = Array.from({ length: 3000 }, () => {
    const body: Record<string, string> = {};
    for (const field of ['client_id', 'grant_type', 'code_verifier', 'scope', 'hint']) {
      const value = VALUES[Math.floor(next() * VALUES.length)];
      if (value !== undefined) body[field] = value;
    }
    return body;
  });
  // Every combination of values near the edges of validity, so that many bodies pass.
  const near: Record<string, Array<string | undefined>> = {
    client_id: ['web', 'x'.repeat(16), 'x'.repeat(17), undefined],
    grant_type: ['authorization_code'],
    code_verifier: ['v'.repeat(43), '-._~'.repeat(32), 'v'.repeat(42)],
    scope: [undefined, '', 'openid', 'a b', 'x'.repeat(16), 'x'.repeat(17), 'A'],
    hint: [undefined, '', 'x'.repeat(16), 'x'.repeat(17)],
  };
  const combine = (fields: string[]): Array<Record<string, string>> => {
    const [field, ...rest] = fields;
    if (field === undefined) return [{}];
    return near[field]!.flatMap((value) =>
      combine(rest).map((body) => (value === undefined ? body : { [field]: value, ...body })),
    );
  };
  bodies.push(...combine(Object.keys(near)));

  it('never accepts a body that express-validator refuses', async () => {
    for (const body of bodies) {
      if (precheck(body)) expect({ body, passes: await expressValidatorPasses(SCHEMA, body) }).toEqual({ body, passes: true });
    }
  });

  it('accepts every ASCII body that express-validator accepts (so well-formed requests skip the chains)', async () => {
    let accepted = 0;
    for (const body of bodies) {
      if (!Object.values(body).every((value) => /^[\x00-\x7F]*$/.test(value))) continue;
      const passes = await expressValidatorPasses(SCHEMA, body);
      expect({ body, precheck: precheck(body) }).toEqual({ body, precheck: passes });
      if (passes) accepted++;
    }
    expect(accepted).toBeGreaterThan(50);
  });

  it.each<[string, Schema]>([
    ['a member it does not know (a sanitizer)', { f: { in: ['body'], trim: true } }],
    ['an optional of a kind it does not know', { f: { in: ['body'], optional: { options: { values: 'other' } } as never } }],
    ['a negated validator', { f: { in: ['body'], isIn: { options: [['a']], negated: true } } }],
    ['a conditional validator', { f: { in: ['body'], isLength: { options: { max: 5 }, if: () => true } } }],
    ['a minimum length', { f: { in: ['body'], isLength: { options: { min: 1, max: 5 } } } }],
    ['a global RegExp', { f: { in: ['body'], matches: { options: /a/g } } }],
    ['a field path', { 'f.g': { in: ['body'], exists: true } }],
    ['another location', { f: { in: ['query'], exists: true } }],
    ['several locations', { f: { in: ['body', 'query'], exists: true } }],
  ])('leaves a schema with %s to express-validator', (_name, schema) => {
    expect(compilePrecheck(schema)({ f: 'a', 'f.g': 'a' })).toBe(false);
  });

  it('leaves a custom validator that does not return true to express-validator', () => {
    const schema: Schema = { f: { in: ['body'], custom: { options: () => Promise.resolve(true) } } };
    expect(compilePrecheck(schema)({ f: 'a' })).toBe(false);
  });
});
