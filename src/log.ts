import type { LogLevel } from './config';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

function serializable(value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, stack: value.stack };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

const API_KEY_IN_TEXT = /oq_([a-z0-9]{1,64})_([a-z0-9]{1,64})_[A-Za-z0-9_-]{43}/g;

/** Keeps the public prefix of any api key in the text and drops its secret. */
export function redactApiKeys(text: string): string {
  return text.replace(API_KEY_IN_TEXT, 'oq_$1_$2_[redacted]');
}

/**
 * One JSON object per line on stderr (stdout is kept for what commands print, e.g. the admin CLI).
 */
export function createLogger(level: LogLevel, write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const threshold = RANK[level];
  const log = (lvl: Exclude<LogLevel, 'silent'>) => (message: string, fields: Record<string, unknown> = {}) => {
    if (RANK[lvl] < threshold) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg: message };
    for (const [name, value] of Object.entries(fields)) entry[name] = serializable(value);
    write(`${redactApiKeys(JSON.stringify(entry))}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
