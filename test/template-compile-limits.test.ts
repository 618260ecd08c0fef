import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TemplateError } from '../templates/errors.js';
import { API_COMPILE_LIMITS } from '../api/app.js';
import { mjmlToHtml, setCompileLimits } from '../templates/mjml.js';
import { startTestEngine, type TestEngine } from './helpers/engine.js';

// One MJML compile must not hold the compile thread (and every tenant's version checks and
// previews behind it) for as long as it likes, nor may compiles pile up without end.

/**
 * Inline CSS where every rule matches every element: about 2.5 s of mjml work on an idle 2-core
 * machine, in under 60,000 characters. The limit below is 400 ms, so the heavy compile fails on a
 * machine up to six times faster, and a small compile (a few ms) passes on one far slower.
 */
const LIMIT_MS = 400;
function heavyMjml(): string {
  const rules = Array.from({ length: 1700 }, (_, i) => `td.c{color:#${(i % 4096).toString(16).padStart(3, '0')}}`).join('\n');
  const body = Array.from({ length: 900 }, () => `<mj-text css-class="c">x</mj-text>`).join('');
  return `<mjml><mj-head><mj-style inline="inline">${rules}</mj-style></mj-head><mj-body><mj-section><mj-column>${body}{{> content}}</mj-column></mj-section></mj-body></mjml>`;
}
const small = (word: string) => `<mjml><mj-body><mj-section><mj-column><mj-text>${word}</mj-text></mj-column></mj-section></mj-body></mjml>`;

let engine: TestEngine;
beforeAll(async () => {
  engine = await startTestEngine({ noWorker: true, api: { compileLimits: { timeoutMs: LIMIT_MS } } });
});
afterAll(async () => engine?.stop());

describe('the compile thread', () => {
  it('fails a compile over the time limit, and the compiles queued behind it finish on a fresh thread', async () => {
    setCompileLimits({ timeoutMs: LIMIT_MS, maxQueued: 100 });
    const stuck = mjmlToHtml(heavyMjml(), 'heavy').then(
      () => undefined,
      (err: unknown) => err,
    );
    const behind = mjmlToHtml(small('queued behind'), 'small');
    const err = await stuck;
    expect(err).toBeInstanceOf(TemplateError);
    expect((err as TemplateError).code).toBe('compile_timeout');
    expect((err as TemplateError).message).toContain(`took longer than ${LIMIT_MS} ms`);
    expect(await behind).toContain('queued behind');
    expect(await mjmlToHtml(small('afterwards'))).toContain('afterwards');
  });

  it('refuses a compile beyond its queue at once (compile_busy), and runs those in it', async () => {
    setCompileLimits({ timeoutMs: 30_000, maxQueued: 2 });
    const queued = [mjmlToHtml(small('one')), mjmlToHtml(small('two'))];
    const refused = await mjmlToHtml(small('three')).catch((e: unknown) => e);
    expect((refused as TemplateError).code).toBe('compile_busy');
    expect(await Promise.all(queued)).toEqual([expect.stringContaining('one'), expect.stringContaining('two')]);
    setCompileLimits(API_COMPILE_LIMITS);
  });
});

describe('the API', () => {
  it('answers a layout over the compile limit with a 422 naming the limit; the next layout compiles', async () => {
    setCompileLimits({ timeoutMs: LIMIT_MS });
    const layout = { text: '{{> content}}', colors: { primary: '#003366', background: '#ffffff' } };
    const res = await engine.request('POST', '/v1/layouts', { body: { ...layout, mjml: heavyMjml() } });
    const text = await res.text();
    expect(res.status, text).toBe(422);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(text).toContain(`took longer than ${LIMIT_MS} ms to compile`);
    const ok = await engine.request('POST', '/v1/layouts', {
      body: { ...layout, mjml: small('Brand').replace('<mj-text>Brand</mj-text>', '<mj-text>Brand</mj-text>{{> content}}') },
    });
    expect(ok.status, await ok.clone().text()).toBe(201);
  });
});
