import { isFormUtf8, parseForm, rejectAmbiguous } from '../../lib/request/form-body.js';
import { RequestError } from '../../lib/response/request-error.js';

const KNOWN = new Set(['client_id', 'code']);

function reasonOf(body: string): string | undefined {
  try {
    rejectAmbiguous(parseForm(body, KNOWN), KNOWN);
    return undefined;
  } catch (error) {
    return (error as RequestError).reason;
  }
}

describe('form body parsing', () => {
  it('decodes names and values, + as space', () => {
    expect({ ...parseForm('client_id=a+b%2Bc&code=%E2%9C%93', KNOWN).params }).toEqual({
      client_id: 'a b+c',
      code: '✓',
    });
  });

  it('keeps only known parameters and ignores repeated unknown ones', () => {
    expect({ ...parseForm('x=1&x=2&client_id=a', KNOWN).params }).toEqual({ client_id: 'a' });
  });

  it.each([
    ['a repeated known parameter', 'code=a&code=b', 'parameter_repeated'],
    ['a repeated known parameter, once empty', 'code=&code=b', 'parameter_repeated'],
    ['a bracketed known parameter', 'code[]=a', 'parameter_repeated'],
    ['a percent-encoded repeated name', 'code=a&%63ode=b', 'parameter_repeated'],
    ['a malformed escape', 'code=%zz', 'body_malformed'],
    ['a truncated escape', 'code=%4', 'body_malformed'],
    ['an escape of invalid UTF-8', 'code=%C3%28', 'body_malformed'],
  ])('refuses %s', (_name, body, reason) => {
    expect(reasonOf(body)).toBe(reason);
  });

  it('notes a repeated known parameter without refusing it, so each request decides what it reads', () => {
    const form = parseForm('code=a&code=b&client_id=c', KNOWN);
    expect([...form.ambiguous]).toEqual(['code']);
    expect(() => rejectAmbiguous(form, ['client_id'])).not.toThrow();
    expect(() => rejectAmbiguous(form, ['code'])).toThrow(RequestError);
  });

  it('refuses raw bytes that are not UTF-8', () => {
    expect(() => parseForm(Buffer.from([0x63, 0x6f, 0x64, 0x65, 0x3d, 0xff]), KNOWN)).toThrow(RequestError);
  });

  it.each([
    ['application/x-www-form-urlencoded', true],
    ['application/x-www-form-urlencoded; charset=utf-8', true],
    ['application/x-www-form-urlencoded;charset="UTF-8"', true],
    ['application/x-www-form-urlencoded; charset=iso-8859-1', false],
    ['application/json', false],
    ['multipart/form-data; boundary=x', false],
    [undefined, false],
  ])('content type %s is accepted: %s', (type, accepted) => {
    expect(isFormUtf8(type)).toBe(accepted);
  });
});
