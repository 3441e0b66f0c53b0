import { loadConfig } from '../../src/config';
import type { LogLevel } from '../../src/config';
import { createLogger, shortHash } from '../../src/observability/logger';

function capture(level: LogLevel) {
  const lines: string[] = [];
  return { logger: createLogger({ level, write: (line) => void lines.push(line) }), lines };
}

describe('logger (pino)', () => {
  const key = `oq_tenant1_key1_${'Z'.repeat(43)}`;

  it('writes one JSON line with ISO time, level name and message, then the fields', () => {
    const { logger, lines } = capture('info');
    logger.info('hello', { count: 2n, nested: { a: 1 } });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    const line = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'info', msg: 'hello', nested: { a: 1 } });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
  });

  it('honours the level (LOG_LEVEL)', () => {
    const { logger, lines } = capture('warn');
    logger.debug('no');
    logger.info('no');
    logger.warn('yes');
    logger.error('yes');
    expect(lines.map((line) => (JSON.parse(line) as { level: string }).level)).toEqual(['warn', 'error']);
    const silent = capture('silent');
    silent.logger.error('no');
    expect(silent.lines).toEqual([]);
    expect(loadConfig({ LOG_LEVEL: 'DEBUG' }).logLevel).toBe('debug');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });

  it('writes errors with name, message and stack', () => {
    const { logger, lines } = capture('debug');
    logger.error('failed', { error: new TypeError('boom') });
    const line = JSON.parse(lines[0] as string) as { error: { type: string; message: string; stack: string } };
    expect(line.error).toMatchObject({ type: 'TypeError', message: 'boom' });
    expect(line.error.stack).toContain('TypeError: boom');
  });

  it('censors fields named like secrets, at the top and one level down, and any api key anywhere', () => {
    const { logger, lines } = capture('debug');
    logger.info('request', {
      apiKey: 'plain-secret-1',
      secret: 'plain-secret-2',
      idempotencyKey: 'plain-secret-3',
      headers: { 'api-key': 'plain-secret-4', authorization: 'Bearer plain-secret-5', 'idempotency-key': 'plain-secret-6', cookie: 'plain-secret-7', accept: 'kept' },
      input: { idempotencyKey: 'plain-secret-8', token: 'plain-secret-9' },
      message: `a key in text: ${key}`,
      error: new Error(`bad key ${key}`),
    });
    const text = lines.join('');
    for (let i = 1; i <= 9; i++) expect(text).not.toContain(`plain-secret-${i}`);
    expect(text).not.toContain('Z'.repeat(43));
    expect(text).toContain('oq_tenant1_key1_[redacted]');
    expect(text).toContain('"accept":"kept"');
  });

  it('in development at a terminal, writes readable lines (pino-pretty), redacted the same way', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', pretty: true, write: (line) => void lines.push(line) });
    logger.info('hello', { apiKey: 'plain-secret', header: key });
    const text = lines.join('');
    expect(() => JSON.parse(text) as unknown).toThrow();
    expect(text).toContain('hello');
    expect(text).not.toContain('plain-secret');
    expect(text).not.toContain('Z'.repeat(43));
  });

  it('gives a short stable stand-in for a value it must not write', () => {
    expect(shortHash('t1', 'key')).toBe(shortHash('t1', 'key'));
    expect(shortHash('t1', 'key')).not.toBe(shortHash('t2', 'key'));
    expect(shortHash('t1', 'key')).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });
});
