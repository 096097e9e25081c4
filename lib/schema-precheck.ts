import type { ParamSchema } from 'express-validator';
import type { FormParams } from './form-body.js';

/**
 * A quick yes for a schema's well-formed requests: `true` only when every field certainly
 * passes every check of its express-validator schema; `false` means "ask express-validator".
 */
export type SchemaPrecheck = (body: FormParams) => boolean;

type FieldCheck = (value: string, field: string, body: FormParams) => boolean;

/**
 * Compile an express-validator schema of flat body fields, once, into plain checks that accept
 * a request only where express-validator would accept it too. express-validator stays the judge
 * of every request this does not accept, and so of every error answer; this only spares a
 * well-formed request its per-chain machinery (the benchmark's profile: about 30% of the event
 * loop's busy time for ES256, before; see README "Performance").
 *
 * It understands the few schema members the endpoints use: `in: 'body'`, `optional`, `exists`,
 * `isLength` with `max`, `matches` with a RegExp, `isIn` with a list, and a `custom` predicate
 * (called here as express-validator would call it, so it must be a pure check). A field using
 * anything else is never accepted here, so a schema written later with other members stays
 * correct, only slower, until this learns them.
 */
export function compilePrecheck(schema: Readonly<Record<string, ParamSchema>>): SchemaPrecheck {
  const fields = Object.entries(schema).map(([field, config]) => [field, compileField(field, config)] as const);
  return (body) => {
    for (const [field, compiled] of fields) {
      if (compiled === undefined) return false;
      const value = body[field];
      if (compiled.skips(value)) continue;
      // Every check below is on a present string: anything else goes to express-validator.
      if (typeof value !== 'string') return false;
      for (const check of compiled.checks) if (!check(value, field, body)) return false;
    }
    return true;
  };
}

interface CompiledField {
  /** `optional`: whether express-validator skips the field's checks for this value. */
  skips: (value: string | undefined) => boolean;
  checks: FieldCheck[];
}

const NEVER: CompiledField | undefined = undefined;

function compileField(field: string, config: ParamSchema): CompiledField | undefined {
  // Only a plain field of the body; paths and wildcards select other things.
  if (!/^[A-Za-z0-9_]+$/.test(field)) return NEVER;
  const locations = Array.isArray(config.in) ? config.in : [config.in];
  if (locations.length !== 1 || locations[0] !== 'body') return NEVER;
  const skips = compileOptional(config.optional);
  if (skips === undefined) return NEVER;
  const checks: FieldCheck[] = [];
  for (const [member, setting] of Object.entries(config) as Array<[string, unknown]>) {
    // express-validator skips a member set to a falsy value, and runs one set to `true` bare.
    if (member === 'in' || member === 'errorMessage' || member === 'optional' || !setting) continue;
    const check = setting === true ? compileCheck(member, {}) : typeof setting === 'object' ? compileCheck(member, setting) : undefined;
    if (check === undefined) return NEVER;
    checks.push(check);
  }
  return { skips, checks };
}

/** express-validator's `optional`: which values skip the field's checks altogether. */
function compileOptional(setting: ParamSchema['optional']): CompiledField['skips'] | undefined {
  if (setting === undefined || setting === false) return () => false;
  const values = setting === true ? 'undefined' : (setting.options as { values?: unknown } | undefined)?.values ?? 'undefined';
  if (setting !== true && Object.keys(setting).some((key) => key !== 'options')) return undefined;
  // A form value is a string or absent: absent is skipped in every mode, '' only when 'falsy'.
  if (values === 'undefined' || values === 'null') return (value) => value === undefined;
  if (values === 'falsy') return (value) => value === undefined || value === '';
  return undefined;
}

function compileCheck(member: string, setting: object): FieldCheck | undefined {
  const { options, if: condition, negated, ...rest } = setting as Record<string, unknown>;
  // Conditions and negation change what passing means; leave those to express-validator.
  if (condition !== undefined || negated === true) return undefined;
  if (Object.keys(rest).some((key) => key !== 'errorMessage' && key !== 'bail')) return undefined;
  // express-validator spreads an array of options as arguments, and takes anything else as the first.
  const [first, ...more] = Array.isArray(options) ? options : [options];
  if (more.length > 0) return undefined;
  switch (member) {
    case 'exists': {
      const modes = ['values', 'checkFalsy', 'checkNull'];
      if (!Object.keys(first ?? {}).every((key) => modes.includes(key))) return undefined;
      // A non-empty string passes `exists` in each of its modes ('undefined', 'null', 'falsy').
      return (value) => value !== '';
    }
    case 'isLength': {
      const { max, ...other } = (first ?? {}) as Record<string, unknown>;
      if (typeof max !== 'number' || Object.keys(other).length > 0) return undefined;
      // validator.js counts a surrogate pair or a variation sequence as one: never more than
      // the UTF-16 length, so within `max` UTF-16 units is within its limit too.
      return (value) => value.length <= max;
    }
    case 'matches': {
      // A global or sticky RegExp keeps state between calls; express-validator's use of it differs.
      if (!(first instanceof RegExp) || first.global || first.sticky) return undefined;
      return (value) => first.test(value);
    }
    case 'isIn': {
      if (!Array.isArray(first) || !first.every((item) => typeof item === 'string')) return undefined;
      const allowed: readonly string[] = first;
      return (value) => allowed.includes(value);
    }
    case 'custom': {
      const predicate = first;
      if (typeof predicate !== 'function') return undefined;
      // Only a plain `true` counts; a promise or a thrown error is express-validator's to judge.
      return (value, path, body) => predicate(value, { req: { body }, location: 'body', path, pathValues: [] }) === true;
    }
    default:
      return undefined;
  }
}
