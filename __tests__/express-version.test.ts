import express from 'express';

declare const EXPRESS_MAJOR: 4 | 5;

describe('the suite runs on both Express majors', () => {
  it(`resolves express to Express ${EXPRESS_MAJOR} in this run`, () => {
    // express.query was removed in Express 5.
    const hasQueryMiddleware = typeof (express as unknown as { query?: unknown }).query === 'function';
    expect(hasQueryMiddleware).toBe(EXPRESS_MAJOR === 4);
  });
});
