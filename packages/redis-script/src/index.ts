import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';

/** A single Redis connection or a Redis Cluster (EVALSHA is routed by its first key). */
export type ScriptClient = Redis | Cluster;
export type ScriptArg = string | number | Buffer;

type Named<N extends readonly string[], V> = { readonly [P in N[number]]: V };

/** KEYS of a script: by name for a fixed list, a plain array for a variadic one. */
export type ScriptKeys<K extends readonly string[] | 'variadic'> = K extends readonly string[] ? Named<K, string> : readonly string[];
export type ScriptArgs<A extends readonly string[]> = Named<A, ScriptArg>;

export interface ScriptSpec<K extends readonly string[] | 'variadic', A extends readonly string[], R> {
  /** Shown in errors, metrics and traces. */
  readonly name: string;
  /**
   * The Lua, in pieces that are joined in order: fragments first (a piece that appears twice, the
   * same string, is kept once), then the script's own source.
   */
  readonly source: string | readonly string[];
  /** KEYS[1..n] by name, in order; `'variadic'` for a script that takes any number of keys. */
  readonly keys: K;
  /** ARGV[1..n] by name, in order. */
  readonly args: A;
  /**
   * Named numbers that Lua and TypeScript share: each becomes `local NAME = value` in front of
   * the source, so a status code is written once, here, and never as a bare number on either side.
   */
  readonly constants?: Readonly<Record<string, number>>;
  /** `buffer`: bulk strings in the reply arrive as Buffers (binary values), not strings. */
  readonly reply?: 'string' | 'buffer';
  /** Turns the raw reply into the caller's type; throws {@link ScriptReplyError} on a reply it does not expect. */
  readonly decode: (reply: unknown) => R;
}

export interface Script<K extends readonly string[] | 'variadic' = readonly string[] | 'variadic', A extends readonly string[] = readonly string[], R = unknown> {
  readonly name: string;
  /** The whole Lua sent to Redis (constants, fragments, source). */
  readonly lua: string;
  readonly sha1: string;
  readonly keyNames: K;
  readonly argNames: A;
  readonly reply: 'string' | 'buffer';
  readonly decode: (reply: unknown) => R;
  /** KEYS and ARGV in Redis order. Throws TypeError when one is missing. */
  encode(keys: ScriptKeys<K>, args: ScriptArgs<A>): ScriptCall;
  /** Runs the script (EVALSHA; EVAL once when Redis answers NOSCRIPT) through the client's middleware, and decodes the reply. */
  run(client: ScriptClient, keys: ScriptKeys<K>, args: ScriptArgs<A>): Promise<R>;
}

/** One call of a script, positional, as middleware sees it. */
export interface ScriptCall {
  readonly keys: readonly string[];
  readonly args: readonly ScriptArg[];
}

/** A script whose types are not known here (middleware, registries). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyScript = Script<any, any, any>;

/** The reply was not what the script's decoder expects. */
export class ScriptReplyError extends Error {
  override readonly name = 'ScriptReplyError';
  constructor(script: string, what: string) {
    super(`script ${script}: unexpected reply (${what})`);
  }
}

/** `local NAME = value` lines for {@link ScriptSpec.constants}. */
function luaConstants(constants: Readonly<Record<string, number>>): string {
  return Object.entries(constants)
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`constant ${name}: not a Lua name`);
      if (!Number.isFinite(value)) throw new TypeError(`constant ${name}: not a finite number`);
      return `local ${name} = ${value}\n`;
    })
    .join('');
}

/**
 * Redis server time in ms, `now_ms()`: one clock for every instance of an app, whatever their own
 * clocks say. Include it in a script's `source` before the code that calls it.
 */
export const CLOCK_LUA = `-- now_ms(): Redis server time in milliseconds (@onceql/redis-script)
local function now_ms()
  local now = redis.call('TIME')
  return tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
end
`;

/** Reads a Lua file as text (for `source`), once per process per path. */
const files = new Map<string, string>();
export function readLua(path: string): string {
  let text = files.get(path);
  if (text === undefined) {
    text = readFileSync(path, 'utf8');
    files.set(path, text);
  }
  return text;
}

/** Wraps every script call of one client: `next` runs the call (or the middleware added before). */
export type ScriptMiddleware = (script: AnyScript, call: ScriptCall, next: () => Promise<unknown>) => Promise<unknown>;

const middlewares = new WeakMap<object, ScriptMiddleware[]>();

/**
 * Has every script call made through `client` go through `middleware` (timing, tracing, WAIT after
 * a write…). Each middleware wraps those added before it: the last added runs first.
 */
export function useScriptMiddleware(client: ScriptClient, middleware: ScriptMiddleware): void {
  const list = middlewares.get(client) ?? [];
  list.push(middleware);
  middlewares.set(client, list);
}

type ScriptMethod = (...args: ScriptArg[]) => Promise<unknown>;

/** Per client, the scripts defined on it (ioredis `defineCommand`) under a method name of their own. */
const definedOn = new WeakMap<object, Map<string, string>>();

function methodOf(client: ScriptClient, script: AnyScript): string {
  let methods = definedOn.get(client);
  if (methods === undefined) {
    methods = new Map();
    definedOn.set(client, methods);
  }
  let method = methods.get(script.sha1);
  if (method === undefined) {
    // A name no ioredis command has; the sha keeps two scripts of one name apart.
    method = `onceqlScript_${script.sha1}`;
    client.defineCommand(method, { lua: script.lua });
    methods.set(script.sha1, method);
  }
  return method;
}

/**
 * Sends one call, no middleware, through ioredis' script command: on each connection the first
 * call is an EVAL and later ones EVALSHA (EVAL again after a NOSCRIPT). A first call is thus never
 * an EVALSHA that a stalled server would answer NOSCRIPT later, leaving its outcome in doubt.
 */
function sendScript(client: ScriptClient, script: AnyScript, call: ScriptCall): Promise<unknown> {
  const method = methodOf(client, script);
  const commands = client as unknown as Record<string, ScriptMethod>;
  const send = commands[script.reply === 'buffer' ? `${method}Buffer` : method] as ScriptMethod;
  return send.call(client, call.keys.length, ...call.keys, ...call.args);
}

/** Runs one positional call of a script through the client's middleware; the raw reply. */
export function callScript(client: ScriptClient, script: AnyScript, call: ScriptCall): Promise<unknown> {
  const list = middlewares.get(client);
  if (list === undefined) return sendScript(client, script, call);
  let next = () => sendScript(client, script, call);
  for (const middleware of list) {
    const inner = next;
    next = () => middleware(script, call, inner);
  }
  return next();
}

/**
 * A typed Lua script: KEYS and ARGV by name (a missing one is a TypeError, not a nil in Lua), a
 * decoder for the reply (no call site casts), constants shared with Lua, fragments included once.
 */
export function defineScript<const K extends readonly string[] | 'variadic', const A extends readonly string[], R>(spec: ScriptSpec<K, A, R>): Script<K, A, R> {
  const pieces = typeof spec.source === 'string' ? [spec.source] : [...new Set(spec.source)];
  const lua = (spec.constants ? luaConstants(spec.constants) : '') + pieces.join('\n');
  const sha1 = createHash('sha1').update(lua).digest('hex');
  const argNames = spec.args;
  const encode = (keys: ScriptKeys<K>, args: ScriptArgs<A>): ScriptCall => {
    let keyList: string[];
    if (spec.keys === 'variadic') {
      keyList = [...(keys as readonly string[])];
    } else {
      const named = keys as Record<string, string | undefined>;
      keyList = (spec.keys as readonly string[]).map((name) => {
        const key = named[name];
        if (typeof key !== 'string') throw new TypeError(`script ${spec.name}: key ${name} is missing`);
        return key;
      });
    }
    const namedArgs = args as Record<string, ScriptArg | undefined>;
    const argList = argNames.map((name) => {
      const value = namedArgs[name];
      if (value === undefined || value === null) throw new TypeError(`script ${spec.name}: argument ${name} is missing`);
      return value;
    });
    return { keys: keyList, args: argList };
  };
  const script: Script<K, A, R> = {
    name: spec.name,
    lua,
    sha1,
    keyNames: spec.keys,
    argNames,
    reply: spec.reply ?? 'string',
    decode: spec.decode,
    encode,
    async run(client, keys, args) {
      return spec.decode(await callScript(client, script, encode(keys, args)));
    },
  };
  return script;
}

// Decoders for the shapes scripts reply with.

/** An array reply of at least `length` items. */
export function arrayReply(script: string, reply: unknown, length = 0): unknown[] {
  if (!Array.isArray(reply) || reply.length < length) throw new ScriptReplyError(script, `wanted an array of ${length}+ items`);
  return reply;
}

/** An integer reply. */
export function integerReply(script: string, reply: unknown): number {
  const value = typeof reply === 'string' ? Number(reply) : reply;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ScriptReplyError(script, 'wanted an integer');
  return value;
}

/** The flat `[field, value, …]` of HGETALL turned into a record; null for an empty hash. */
export function hashReply(reply: unknown): Record<string, string> | null {
  if (!Array.isArray(reply) || reply.length === 0) return null;
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) record[String(reply[i])] = String(reply[i + 1]);
  return record;
}
