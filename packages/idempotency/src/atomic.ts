import path from 'node:path';
import { arrayReply, callScript, CLOCK_LUA, defineScript, integerReply, readLua, ScriptReplyError } from '@onceql/redis-script';
import type { AnyScript, ScriptArg, ScriptArgs, ScriptClient, ScriptKeys } from '@onceql/redis-script';
import { IdempotencyKeyReusedError, IdempotencyRequestInProgressError } from './errors';

/**
 * Status codes at the head of every atomic-path reply envelope (see lua/atomic.lua), shared with
 * the Lua as constants: written here once.
 */
export const AtomicStatus = {
  /** Executed; the request had no key, nothing was recorded. */
  IDEM_NONE: 0,
  /** Executed now; the outcome was recorded. */
  IDEM_EXECUTED: 1,
  /** Not executed: the recorded reply of the first execution. */
  IDEM_REPLAYED: 2,
  /** Not executed: the key was used with another mutation or other arguments. */
  IDEM_MISMATCH: 3,
  /** Not executed: the key is claimed on the leased path by other code. */
  IDEM_IN_PROGRESS: 4,
} as const;
export type AtomicStatus = (typeof AtomicStatus)[keyof typeof AtomicStatus];

export type FieldStatus = 'EXECUTED' | 'REPLAYED' | 'RECOVERED';

/**
 * The first byte of an atomic-path record (a Redis string), shared with lua/atomic.lua: "3" is
 * written now, "2" records (written before v3) still replay. A v1 record is a hash.
 */
export const RecordFormat = { RECORD_V2: 0x32, RECORD_V3: 0x33 } as const;

/**
 * Bounds of the atomic path, shared with lua/atomic.lua. The first two are checked before the
 * domain script writes (by `run()` before sending, and by `idem_begin()`): a script error after
 * the write would keep the write (Redis does not roll a script back) and record nothing, so every
 * retry would execute again.
 */
const AtomicLimits = {
  /** A v2/v3 header gives the fingerprint's length in one byte. */
  IDEM_MAX_FINGERPRINT_BYTES: 255,
  /** Retention: the record's PXAT (now + this) must stay an exact integer in Lua (2^53). */
  IDEM_MAX_TTL_MS: 2 ** 52,
  /** How deep cmsgpack packs tables (LUACMSGPACK_MAX_NESTING in Redis' lua_cmsgpack.c). */
  IDEM_MAX_NESTING: 16,
} as const;

/**
 * What a domain store needs to run one mutation on the atomic path: the record key (first in
 * KEYS) and the record's name before v2 (last in KEYS), the four ARGV that go first, and a way to
 * say whether the script executed or replayed. `IdempotencyCall` (from `@IdempotencyCallParam()`)
 * is one; {@link withoutIdempotency} is the one for a mutation without a key.
 */
export interface AtomicIdempotency {
  readonly recordKey: string;
  readonly legacyRecordKey: string;
  readonly scriptArgs: readonly [key: string, fingerprint: string, mutation: string, ttlMs: string];
  /** Called with the envelope status of the script's reply. */
  settle(status: FieldStatus): void;
}

/**
 * For a mutation without a key: the script executes and records nothing. `namespace` carries the
 * caller's hash tag, so the unused record key is in the slot of the data (Redis Cluster).
 */
export function withoutIdempotency(namespace: string): AtomicIdempotency {
  return { recordKey: `${namespace}:i:-`, legacyRecordKey: `${namespace}:idem:-`, scriptArgs: ['', '', '', '0'], settle: () => undefined };
}

/** True when the mutation carries a key: a retry with it replays instead of running again. */
export function hasIdempotencyKey(idempotency: AtomicIdempotency): boolean {
  return idempotency.scriptArgs[1] !== '';
}

/** The Lua building blocks (`idem_begin`, `idem_finish`) of every atomic-path script. */
export const ATOMIC_LUA = readLua(path.join(__dirname, '..', 'lua', 'atomic.lua'));

/** Names of the KEYS and ARGV the atomic path puts around a domain script's own. */
const RECORD_KEY = 'idempotencyRecord';
const LEGACY_RECORD_KEY = 'idempotencyLegacyRecord';
const ATOMIC_ARGS = ['idempotencyKey', 'idempotencyFingerprint', 'idempotencyMutation', 'idempotencyTtlMs'] as const;

/**
 * Refuses, before anything is sent, what the script would refuse in `idem_begin()` (see
 * {@link AtomicLimits}); a request without a key records nothing and is not checked.
 */
function checkAtomicIdempotency(script: string, [, fingerprint, mutation, ttlMs]: AtomicIdempotency['scriptArgs']): void {
  if (fingerprint === '') return;
  const fingerprintBytes = Buffer.byteLength(fingerprint);
  if (fingerprintBytes > AtomicLimits.IDEM_MAX_FINGERPRINT_BYTES) {
    throw new TypeError(`atomic script ${script}: the fingerprint is ${fingerprintBytes} bytes, at most ${AtomicLimits.IDEM_MAX_FINGERPRINT_BYTES}; pass fingerprint(mutation, args) (a hex SHA-256)`);
  }
  if (mutation.includes('\n')) throw new TypeError(`atomic script ${script}: the mutation name ${JSON.stringify(mutation)} contains a newline; pass the field's name`);
  const retentionMs = Number(ttlMs);
  if (!(retentionMs >= 1 && retentionMs <= AtomicLimits.IDEM_MAX_TTL_MS)) {
    throw new TypeError(`atomic script ${script}: the retention must be 1..${AtomicLimits.IDEM_MAX_TTL_MS} ms, got ${JSON.stringify(ttlMs)}; pass ttlSeconds * 1000`);
  }
}

/** The envelope's status: settles the call, or throws IDEMPOTENCY_KEY_REUSED / IN_PROGRESS. */
function openEnvelope(script: string, status: unknown, idempotency: AtomicIdempotency): void {
  const code = integerReply(script, status) as AtomicStatus;
  switch (code) {
    case AtomicStatus.IDEM_NONE:
      return;
    case AtomicStatus.IDEM_EXECUTED:
      idempotency.settle('EXECUTED');
      return;
    case AtomicStatus.IDEM_REPLAYED:
      idempotency.settle('REPLAYED');
      return;
    case AtomicStatus.IDEM_MISMATCH:
      throw new IdempotencyKeyReusedError(idempotency.scriptArgs[0]);
    case AtomicStatus.IDEM_IN_PROGRESS:
      throw new IdempotencyRequestInProgressError(idempotency.scriptArgs[0], 1000);
    default:
      return assertNever(code, script);
  }
}

function assertNever(value: never, script: string): never {
  throw new ScriptReplyError(script, `unknown idempotency status ${String(value)}`);
}

/**
 * Opens the reply of an atomic-path script, `{envelope, live...}` with `envelope` =
 * `{status, ...domainReply}`: settles the call and returns the domain reply (the recorded one on
 * a replay) and the live values the script read after it (never recorded), or throws
 * IDEMPOTENCY_KEY_REUSED / IDEMPOTENCY_REQUEST_IN_PROGRESS.
 */
export function openAtomicReply(script: string, reply: unknown, idempotency: AtomicIdempotency): { domain: unknown[]; live: unknown[] } {
  const [envelope, ...live] = arrayReply(script, reply, 1);
  const [status, ...domain] = arrayReply(script, envelope, 1);
  openEnvelope(script, status, idempotency);
  return { domain, live };
}

export interface AtomicScriptSpec<K extends readonly string[], A extends readonly string[], R> {
  /** The script's name (metrics, traces, `WAIT` after writes go by it). */
  readonly name: string;
  /**
   * The domain Lua, in pieces (fragments first). `now_ms()` and the atomic building blocks are
   * put in front of it. It calls `idem_begin()` first and answers with `{idem_finish(...), live...}`.
   */
  readonly source: string | readonly string[];
  /** The domain's own KEYS, by name: they are `KEYS[2..#KEYS-1]` in the Lua. */
  readonly keys: K;
  /** The domain's own ARGV, by name: they are `ARGV[5..]` in the Lua. */
  readonly args: A;
  /** The domain's status codes, shared with its Lua (besides {@link AtomicStatus}). */
  readonly constants?: Readonly<Record<string, number>>;
  /**
   * Turns the domain reply (the recorded one on a replay) and the live values read after it into
   * the caller's type; throws `ScriptReplyError` on a reply it does not expect. `replayed`: the
   * envelope said REPLAYED.
   */
  readonly decode: (domain: unknown[], live: unknown[], replayed: boolean) => R;
}

export interface AtomicScript<K extends readonly string[], A extends readonly string[], R> {
  readonly name: string;
  readonly lua: string;
  readonly sha1: string;
  /** The underlying script (to load it ahead, or to list it with an app's others). */
  readonly script: AnyScript;
  /**
   * Runs the script on the atomic path: the record key first and its legacy name last in KEYS,
   * the idempotency ARGV first; opens the envelope (replay, mismatch, in progress) and returns the
   * decoded domain reply.
   */
  run(client: ScriptClient, idempotency: AtomicIdempotency, keys: ScriptKeys<K>, args: ScriptArgs<A>): Promise<R>;
}

/**
 * A Lua script on the atomic path: one script looks the key up, refuses a mismatch, replays a
 * completed outcome, or applies its write and records the outcome. Every atomic mutation goes
 * through this one helper, so the calling convention is written once.
 */
export function defineAtomicScript<const K extends readonly string[], const A extends readonly string[], R>(spec: AtomicScriptSpec<K, A, R>): AtomicScript<K, A, R> {
  const own = typeof spec.source === 'string' ? [spec.source] : spec.source;
  for (const name of [...spec.keys, ...spec.args]) {
    if (name === RECORD_KEY || name === LEGACY_RECORD_KEY || (ATOMIC_ARGS as readonly string[]).includes(name)) {
      throw new TypeError(`atomic script ${spec.name}: ${name} is a name of the atomic path; call it something else`);
    }
  }
  for (const name of Object.keys(spec.constants ?? {})) {
    if (name in AtomicStatus || name in RecordFormat || name in AtomicLimits) throw new TypeError(`atomic script ${spec.name}: constant ${name} is one of the atomic path's`);
  }
  const inner = defineScript({
    name: spec.name,
    source: [CLOCK_LUA, ATOMIC_LUA, ...own],
    keys: [RECORD_KEY, ...spec.keys, LEGACY_RECORD_KEY] as readonly string[],
    args: [...ATOMIC_ARGS, ...spec.args] as readonly string[],
    constants: { ...AtomicStatus, ...RecordFormat, ...AtomicLimits, ...spec.constants },
    decode: (reply: unknown) => reply,
  });
  return {
    name: inner.name,
    lua: inner.lua,
    sha1: inner.sha1,
    script: inner,
    async run(client, idempotency, keys, args) {
      checkAtomicIdempotency(spec.name, idempotency.scriptArgs);
      const [key, fingerprint, mutation, ttlMs] = idempotency.scriptArgs;
      const call = inner.encode(
        { ...(keys as Record<string, string>), [RECORD_KEY]: idempotency.recordKey, [LEGACY_RECORD_KEY]: idempotency.legacyRecordKey },
        { ...(args as Record<string, ScriptArg>), idempotencyKey: key, idempotencyFingerprint: fingerprint, idempotencyMutation: mutation, idempotencyTtlMs: ttlMs },
      );
      let replayed = false;
      const { domain, live } = openAtomicReply(spec.name, await callScript(client, inner, call), {
        ...idempotency,
        settle: (status) => {
          replayed = status === 'REPLAYED';
          idempotency.settle(status);
        },
      });
      return spec.decode(domain, live, replayed);
    },
  };
}
