import type { Clock } from '../contracts.js';
import { ConfigurationError, describeValue } from './configuration-error.js';
import { nearestName } from './nearest-name.js';

/*
 * The checks every options object of the library goes through (createTokenRouter, the stores,
 * issueAuthorizationCode, MemoryKeyStore), so each mistake reads the same wherever it is made.
 */

/** An error for an option whose value is wrong; `owner` names the function or class, if not the router. */
export function invalidOption(option: string, expected: string, received: unknown, owner?: string): ConfigurationError {
  const prefix = owner === undefined ? '' : `${owner}: `;
  return new ConfigurationError(
    'ERR_OPTION_INVALID',
    option,
    `${prefix}option ${option} must be ${expected}; received ${describeValue(received)}`,
  );
}

/** Check that `value` is an options object holding only `known` names; a misspelt one gets a hint. */
export function checkOptionsObject(owner: string, value: unknown, known: readonly string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigurationError(
      'ERR_OPTIONS_NOT_OBJECT',
      'options',
      `${owner} takes an options object; received ${describeValue(value)}`,
    );
  }
  for (const name of Object.keys(value)) {
    if (known.includes(name)) continue;
    const hint = nearestName(name, known);
    throw new ConfigurationError(
      'ERR_OPTION_UNKNOWN',
      name,
      `${owner}: unknown option "${name}"; ${hint === undefined ? `it takes ${known.join(', ')}` : `did you mean "${hint}"?`}`,
    );
  }
  return value as Record<string, unknown>;
}

/**
 * Check that the object at `path` (such as `clients[0]`) holds only `known` fields, as
 * {@link checkOptionsObject} does for a whole options object: a misspelt field gets a hint.
 */
export function checkKnownFields(path: string, value: object, known: readonly string[]): void {
  for (const name of Object.keys(value)) {
    if (known.includes(name)) continue;
    const hint = nearestName(name, known);
    throw new ConfigurationError(
      'ERR_OPTION_UNKNOWN',
      `${path}.${name}`,
      `${path}: unknown field "${name}"; ${hint === undefined ? `a ${path.replace(/\[\d+\]$/, '')} entry takes ${known.join(', ')}` : `did you mean "${hint}"?`}`,
    );
  }
}

/** A positive whole number (of `unit`), or `fallback` when absent. */
export function positiveInteger(
  value: unknown,
  option: string,
  fallback: number,
  unit: string,
  owner?: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw invalidOption(option, `a positive whole number of ${unit}`, value, owner);
  }
  return value;
}

/**
 * A positive whole number of `unit` no greater than `max` (`maxLabel` says it in words), or
 * `fallback` when absent. Safe integers only, so every value is exact (no fractions, NaN or
 * numbers past `Number.MAX_SAFE_INTEGER`).
 */
export function boundedPositiveInteger(
  value: unknown,
  option: string,
  fallback: number,
  unit: string,
  max: number,
  maxLabel: string,
  owner?: string,
): number {
  const checked = positiveInteger(value, option, fallback, unit, owner);
  if (checked > max)
    throw invalidOption(option, `a positive whole number of ${unit}, at most ${max} (${maxLabel})`, value, owner);
  return checked;
}

/**
 * A whole number of `unit` from 0 to `max`, or `fallback` when absent: safe integers only, so
 * no fraction, NaN or infinity passes.
 */
export function boundedNonNegativeInteger(
  value: unknown,
  option: string,
  fallback: number,
  unit: string,
  max: number,
  owner?: string,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw invalidOption(option, `a whole number of ${unit} from 0 to ${max}`, value, owner);
  }
  return value;
}

/** true or false, or `fallback` when absent. */
export function booleanOption(value: unknown, option: string, fallback: boolean, owner?: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidOption(option, 'true or false', value, owner);
  return value;
}

/** A clock (epoch milliseconds, like `Date.now`), or `Date.now` when absent. */
export function clockOption(value: unknown, owner?: string): Clock {
  if (value === undefined) return Date.now;
  if (typeof value !== 'function') throw invalidOption('now', 'a function returning epoch milliseconds', value, owner);
  return value as Clock;
}
