import { invalidOption } from '../config/option-checks.js';
import type { AuthorizationParams } from './authorization-request.js';

/** One parameter of the request: absent (or empty), one value, or sent more than once or in bracket form. */
export type ParameterValue = { kind: 'absent' } | { kind: 'value'; value: string } | { kind: 'repeated' };

/** Reads one parameter by name. */
export type ParameterReader = (name: string) => ParameterValue;

const ABSENT: ParameterValue = { kind: 'absent' };
const REPEATED: ParameterValue = { kind: 'repeated' };

/**
 * A reader over either shape of the parameters. RFC 6749 §3.1: a parameter sent without a value
 * is treated as omitted, and none may be sent more than once. From `req.query` an array (repeated,
 * or `name[]=`) or an object (`name[a]=`, Express 4's extended parser) is not one value; only own
 * properties count, so nothing on a polluted prototype is read as a parameter.
 */
export function parameterReader(params: AuthorizationParams): ParameterReader {
  if (params instanceof URLSearchParams) {
    return (name) => {
      const values = params.getAll(name);
      if (values.length > 1) return REPEATED;
      return single(values[0]);
    };
  }
  if (typeof params !== 'object' || params === null || Array.isArray(params)) {
    throw invalidOption(
      'params',
      'the request parameters: a URLSearchParams or Express req.query',
      params,
      'checkAuthorizationRequest',
    );
  }
  return (name) => {
    if (!Object.hasOwn(params, name)) return ABSENT;
    const value = params[name];
    if (value === undefined) return ABSENT;
    return typeof value === 'string' ? single(value) : REPEATED;
  };
}

function single(value: string | undefined): ParameterValue {
  return value === undefined || value === '' ? ABSENT : { kind: 'value', value };
}
