import 'reflect-metadata';
import { Redis } from 'ioredis';
import { ALL_SCOPES } from '../../src/auth/api-key';
import { AuthStore } from '../../src/auth/store';
import { createRedisClient, waitForRedis } from '../../src/redis/client';
import { forceFailover, startSentinelGroup } from '../helpers/sentinel';
import type { ApiProcess } from './api-process';
import { startApiProcess } from './api-process';
import type { FaultProxy } from './fault-proxy';
import { startFaultProxy } from './fault-proxy';
import type { Answer } from './http-client';
import { backoffMs, codeOf, isRetryable, post } from './http-client';
import type { Random } from './random';
import { between, pick, seededRandom } from './random';

/**
 * The chaos run: retrying clients send transfers through fault proxies to real API processes on a
 * Sentinel-managed primary and replica, while API processes are SIGKILLed, the primary is SIGKILLed
 * and restarted, paused (SIGSTOP) for longer than the command timeout, and failed over after its
 * replica was cut off. At the end every acknowledged key is sent once more, then the ledger is read
 * back through the API and checked.
 */
export interface ChaosOptions {
  seed: number;
  transfers: number;
  clients: number;
  apiInstances: number;
  apiKills: number;
  redisKills: number;
  redisPauses: number;
  /** Fail over once: the replica is held behind for `lagMs`, then the primary is SIGKILLed. */
  failover: boolean;
  /** Ask a sentinel to fail over at once (SENTINEL FAILOVER) instead of letting them find the primary down. */
  forceFailover?: boolean;
  /** REDIS_WAIT_REPLICAS of the API processes (0: no WAIT). */
  waitReplicas: number;
  dropRate: number;
  resetRate: number;
  /** Every acknowledged key is sent again at the end; these are also re-sent right after their answer. */
  immediateResendRate: number;
  lagMs: number;
  /** REDIS_COMMAND_TIMEOUT_MS; pauses last twice as long. */
  commandTimeoutMs: number;
  waitTimeoutMs: number;
  /** The whole run, clients included, is bounded by this. */
  timeLimitMs: number;
  log: (line: string) => void;
}

export interface ChaosReport {
  readonly options: Omit<ChaosOptions, 'log'>;
  transfers: number;
  acknowledged: number;
  refused: number;
  unanswered: number;
  requests: number;
  status: Record<string, number>;
  dropped: number;
  resets: number;
  apiKills: number;
  redisKills: number;
  redisPauses: number;
  failovers: number;
  /** Bytes of replication stream the promoted replica had not received when the primary died. */
  lagBytes: number;
  /** 503s answered between the primary's death and the first 200 after it. */
  failover503: number;
  /** Failovers no one asked for (a restart slower than down-after). */
  unplannedFailovers: number;
  resent: number;
  /** Re-sends of an acknowledged key answered with another transfer id: it was executed twice. */
  reExecuted: number;
  /** Acknowledged transfer ids missing from the ledger at the end. */
  lost: number;
  /** References (keys) with more than one transfer in the ledger. */
  duplicates: number;
  balanceMismatches: number;
  nonZeroCurrencies: number;
  elapsedMs: number;
  violations: string[];
}

const TRANSFER = 'mutation Chaos($input: CreateTransferInput!, $key: String) { createTransfer(input: $input, idempotencyKey: $key) { id } }';
const ACCOUNT = 'mutation ChaosAccount($input: CreateAccountInput!, $key: String) { createAccount(input: $input, idempotencyKey: $key) { id } }';
const ACCOUNTS = 'query ChaosAccounts($after: String) { accounts(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id currency balance } } } }';
const TRANSFERS =
  'query ChaosTransfers($after: String) { transfers(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { id amount currency reference fromAccount { id } toAccount { id } } } } }';

const CURRENCIES = ['EUR', 'USD'] as const;

interface TransferInput {
  fromAccountId: string;
  toAccountId: string;
  amount: string;
  currency: string;
  reference: string;
}

type Outcome = { kind: 'acknowledged'; id: string } | { kind: 'refused'; code: string | undefined } | { kind: 'unanswered' };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One field of a node's INFO replication (-1 when it cannot be read). */
async function replicationOffset(port: number, field: 'master_repl_offset' | 'slave_repl_offset'): Promise<number> {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 2000 });
  client.on('error', () => undefined);
  try {
    const info = String(await client.call('INFO', 'replication'));
    return Number(new RegExp(`${field}:(\\d+)`).exec(info)?.[1] ?? -1);
  } catch {
    return -1;
  } finally {
    client.disconnect();
  }
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const deadline = started + options.timeLimitMs;
  const random = seededRandom(options.seed);
  const { log: _log, ...recorded } = options;
  const report: ChaosReport = {
    options: recorded,
    transfers: options.transfers,
    acknowledged: 0,
    refused: 0,
    unanswered: 0,
    requests: 0,
    status: {},
    dropped: 0,
    resets: 0,
    apiKills: 0,
    redisKills: 0,
    redisPauses: 0,
    failovers: 0,
    lagBytes: 0,
    failover503: 0,
    unplannedFailovers: 0,
    resent: 0,
    reExecuted: 0,
    lost: 0,
    duplicates: 0,
    balanceMismatches: 0,
    nonZeroCurrencies: 0,
    elapsedMs: 0,
    violations: [],
  };

  const group = await startSentinelGroup({ downAfterMs: Math.max(2500, options.commandTimeoutMs * 5) });
  const apis: ApiProcess[] = [];
  const proxies: FaultProxy[] = [];
  try {
    // The tenant and its key, written on the primary and confirmed by the replica before anything fails.
    const setupRedis = createRedisClient({ url: (await group.primary()).url });
    await waitForRedis(setupRedis, 5_000);
    const created = await new AuthStore(setupRedis).createTenantWithKey('chaos', { name: 'chaos', scopes: ALL_SCOPES });
    await (setupRedis as Redis).wait(1, 5_000);
    setupRedis.disconnect();
    const apiKey = created.apiKey?.secret as string;

    const apiEnv: Record<string, string> = {
      ...group.env,
      REDIS_COMMAND_TIMEOUT_MS: String(options.commandTimeoutMs),
      REDIS_WAIT_REPLICAS: String(options.waitReplicas),
      REDIS_WAIT_TIMEOUT_MS: String(options.waitTimeoutMs),
      RATE_LIMIT_PER_SECOND: '1000000',
      RATE_LIMIT_BURST: '1000000',
      QUERY_COST_MAX: '10000000',
      QUERY_COST_BUDGET: '100000000',
      QUERY_COST_RESTORE_PER_SECOND: '10000000',
    };
    for (let i = 0; i < options.apiInstances; i++) {
      const api = await startApiProcess(apiEnv);
      apis.push(api);
      proxies.push(await startFaultProxy(api.port, seededRandom(options.seed + 1000 + i), options));
    }

    const direct = () => (apis[0] as ApiProcess).url;
    let failingOver = false;
    // Sends one request until it gets a definitive answer (or time runs out).
    const untilDefinitive = async (url: () => string, query: string, variables: Record<string, unknown>, jitter: Random): Promise<Answer | null> => {
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        const answer = await post(url(), apiKey, query, variables);
        report.requests += 1;
        const status = answer === null ? 'lost' : String(answer.status);
        report.status[status] = (report.status[status] ?? 0) + 1;
        if (answer !== null && answer.status === 503 && failingOver) report.failover503 += 1;
        if (answer !== null && !isRetryable(answer) && answer.status !== 500) return answer;
        await sleep(backoffMs(answer, attempt, jitter()));
      }
      return null;
    };

    // Accounts: a funding account per currency (may go negative: money enters there) and four more.
    const accounts: Record<string, { funding: string; others: string[] }> = {};
    for (const currency of CURRENCIES) {
      const make = async (name: string, allowNegativeBalance: boolean) => {
        const answer = await untilDefinitive(direct, ACCOUNT, { input: { name, currency, allowNegativeBalance }, key: `account-${options.seed}-${name}-${currency}` }, random);
        const id = (answer?.body.data?.createAccount as { id?: string } | undefined)?.id;
        if (id === undefined) throw new Error(`could not create account ${name}: ${JSON.stringify(answer)}`);
        return id;
      };
      accounts[currency] = { funding: await make('funding', true), others: [await make('a', false), await make('b', false), await make('c', false), await make('d', false)] };
    }

    // The transfers, drawn up front from the seed.
    const inputs: TransferInput[] = Array.from({ length: options.transfers }, (_, i) => {
      const currency = pick(random, CURRENCIES);
      const { funding, others } = accounts[currency] as { funding: string; others: string[] };
      const fromFunding = random() < 0.6;
      const fromAccountId = fromFunding ? funding : pick(random, others);
      const toAccountId = pick(random, others.filter((id) => id !== fromAccountId));
      return { fromAccountId, toAccountId, amount: String(between(random, 1, fromFunding ? 1000 : 400)), currency, reference: `chaos-${options.seed}-${i}` };
    });
    const acknowledged = new Map<string, string>();
    let done = 0;
    let failed: Error | undefined;

    const sendTransfer = async (index: number, jitter: Random): Promise<Outcome> => {
      const input = inputs[index] as TransferInput;
      const proxy = proxies[index % proxies.length] as FaultProxy;
      const answer = await untilDefinitive(() => proxy.url, TRANSFER, { input, key: input.reference }, jitter);
      if (answer === null) return { kind: 'unanswered' };
      const id = (answer.body.data?.createTransfer as { id?: string } | null | undefined)?.id;
      if (answer.status === 200 && typeof id === 'string') return { kind: 'acknowledged', id };
      return { kind: 'refused', code: codeOf(answer) };
    };
    const record = (index: number, outcome: Outcome) => {
      const key = (inputs[index] as TransferInput).reference;
      if (outcome.kind !== 'acknowledged') return;
      const first = acknowledged.get(key);
      if (first === undefined) acknowledged.set(key, outcome.id);
      else {
        report.resent += 1;
        if (first !== outcome.id) report.reExecuted += 1;
      }
    };

    let next = 0;
    const clients = Array.from({ length: options.clients }, async (_, client) => {
      const jitter = seededRandom(options.seed + 1 + client);
      while (next < inputs.length && Date.now() < deadline) {
        const index = next++;
        const outcome = await sendTransfer(index, jitter);
        if (outcome.kind === 'acknowledged') report.acknowledged += 1;
        else if (outcome.kind === 'refused') report.refused += 1;
        else report.unanswered += 1;
        if (outcome.kind === 'refused' && outcome.code === 'IDEMPOTENCY_KEY_REUSED') report.violations.push(`key ${index} refused as reused`);
        record(index, outcome);
        done += 1;
        if (outcome.kind === 'acknowledged' && jitter() < options.immediateResendRate) record(index, await sendTransfer(index, jitter));
      }
    });

    // The faults, spread over the run by progress.
    type Fault = 'apiKill' | 'redisKill' | 'pause' | 'failover';
    const faults: Fault[] = [];
    const pool: Fault[] = [
      ...Array<Fault>(options.apiKills).fill('apiKill'),
      ...Array<Fault>(options.redisPauses).fill('pause'),
      ...Array<Fault>(options.redisKills).fill('redisKill'),
    ];
    while (pool.length > 0) faults.push(...pool.splice(Math.floor(random() * pool.length), 1));
    // The failover comes after the other Redis faults, with an API kill or two left for after it.
    if (options.failover) faults.splice(Math.max(0, faults.length - Math.ceil(options.apiKills / 3)), 0, 'failover');

    const firstPrimary = (await group.primary()).port;
    const runFault = async (fault: Fault) => {
      switch (fault) {
        case 'apiKill': {
          const which = between(random, 0, apis.length - 1);
          await (apis[which] as ApiProcess).kill();
          report.apiKills += 1;
          const api = await startApiProcess(apiEnv);
          apis[which] = api;
          (proxies[which] as FaultProxy).setUpstream(api.port);
          options.log(`chaos: SIGKILLed API ${which}, restarted on port ${api.port}`);
          return;
        }
        case 'pause': {
          const primary = await group.primary();
          primary.signal('SIGSTOP');
          await sleep(options.commandTimeoutMs * 2);
          primary.signal('SIGCONT');
          report.redisPauses += 1;
          options.log(`chaos: paused the primary for ${options.commandTimeoutMs * 2} ms`);
          return;
        }
        case 'redisKill': {
          const primary = await group.primary();
          await primary.kill();
          await primary.restart();
          report.redisKills += 1;
          options.log(`chaos: SIGKILLed and restarted the primary (port ${primary.port})`);
          return;
        }
        case 'failover': {
          const primary = await group.primary();
          const replica = group.nodes.find((node) => node !== primary);
          if (primary.port !== firstPrimary) report.unplannedFailovers += 1;
          // A replica still resyncing after the Redis kill would not be "a replica behind": start in sync.
          await group.waitForReplicas(1, 60_000);
          // The replica falls behind: its stream is held, as in a network split, for lagMs and until
          // the primary has written something the replica has not (bounded).
          group.link.hold();
          await sleep(options.lagMs);
          const lag = async () => (await replicationOffset(primary.port, 'master_repl_offset')) - (await replicationOffset(replica?.port ?? primary.port, 'slave_repl_offset'));
          for (let waited = 0; (report.lagBytes = await lag()) <= 0 && waited < 5_000; waited += 100) await sleep(100);
          failingOver = true;
          await primary.kill();
          group.link.cut();
          // No SENTINEL FAILOVER: the sentinels find the primary down and promote the replica themselves.
          if (options.forceFailover) await forceFailover(group);
          const promoted = await group.waitForNewPrimary(primary.port, 60_000);
          report.failovers += 1;
          options.log(`chaos: primary ${primary.port} SIGKILLed ${report.lagBytes} bytes ahead of its replica; ${promoted.port} promoted`);
          // Restarted like a supervisor would: the sentinels make it a replica of the new primary.
          await primary.restart();
          if (options.waitReplicas > 0) await group.waitForReplicas(options.waitReplicas, 60_000);
          failingOver = false;
          return;
        }
      }
    };
    const driver = (async () => {
      for (const [i, fault] of faults.entries()) {
        const threshold = Math.floor(((i + 1) / (faults.length + 1)) * options.transfers);
        while (done < threshold && Date.now() < deadline) await sleep(20);
        if (Date.now() >= deadline) return;
        await runFault(fault);
      }
    })().catch((error: unknown) => {
      failed = error instanceof Error ? error : new Error(String(error));
    });
    await Promise.all(clients);
    await driver;
    if (failed !== undefined) throw failed;

    // Every acknowledged key once more, through the faults: each must replay its first answer.
    const keys = [...acknowledged.keys()];
    let cursor = 0;
    await Promise.all(
      Array.from({ length: options.clients }, async (_, client) => {
        const jitter = seededRandom(options.seed + 500 + client);
        while (cursor < keys.length && Date.now() < deadline) {
          const key = keys[cursor++] as string;
          record(Number(key.slice(key.lastIndexOf('-') + 1)), await sendTransfer(Number(key.slice(key.lastIndexOf('-') + 1)), jitter));
        }
      }),
    );

    // Read the ledger back, without faults.
    const pages = async <T>(query: string, field: 'accounts' | 'transfers'): Promise<T[]> => {
      const nodes: T[] = [];
      let after: string | null = null;
      for (;;) {
        const answer = await untilDefinitive(direct, query, { after }, random);
        const connection = answer?.body.data?.[field] as { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: T }[] } | undefined;
        if (connection === undefined) throw new Error(`could not read ${field}: ${JSON.stringify(answer?.body.errors ?? 'no answer')}`);
        nodes.push(...connection.edges.map((edge) => edge.node));
        if (!connection.pageInfo.hasNextPage) return nodes;
        after = connection.pageInfo.endCursor;
      }
    };
    const ledgerAccounts = await pages<{ id: string; currency: string; balance: string }>(ACCOUNTS, 'accounts');
    const ledgerTransfers = await pages<{ id: string; amount: string; currency: string; reference: string | null; fromAccount: { id: string }; toAccount: { id: string } }>(TRANSFERS, 'transfers');

    const ids = new Set(ledgerTransfers.map((transfer) => transfer.id));
    for (const id of acknowledged.values()) if (!ids.has(id)) report.lost += 1;
    const byReference = new Map<string, number>();
    for (const transfer of ledgerTransfers) byReference.set(transfer.reference ?? '', (byReference.get(transfer.reference ?? '') ?? 0) + 1);
    for (const count of byReference.values()) if (count > 1) report.duplicates += count - 1;
    const replayed = new Map<string, bigint>();
    for (const transfer of ledgerTransfers) {
      const amount = BigInt(transfer.amount);
      replayed.set(transfer.fromAccount.id, (replayed.get(transfer.fromAccount.id) ?? 0n) - amount);
      replayed.set(transfer.toAccount.id, (replayed.get(transfer.toAccount.id) ?? 0n) + amount);
    }
    const sums = new Map<string, bigint>();
    for (const account of ledgerAccounts) {
      if (BigInt(account.balance) !== (replayed.get(account.id) ?? 0n)) report.balanceMismatches += 1;
      sums.set(account.currency, (sums.get(account.currency) ?? 0n) + BigInt(account.balance));
    }
    report.nonZeroCurrencies = [...sums.values()].filter((sum) => sum !== 0n).length;

    report.dropped = proxies.reduce((sum, proxy) => sum + proxy.counts.dropped, 0);
    report.resets = proxies.reduce((sum, proxy) => sum + proxy.counts.reset, 0);
    const noLoss = options.waitReplicas > 0 || !options.failover;
    if (noLoss && report.lost > 0) report.violations.push(`${report.lost} acknowledged transfers lost`);
    if (noLoss && report.reExecuted > 0) report.violations.push(`${report.reExecuted} acknowledged keys executed again`);
    if (report.duplicates > 0) report.violations.push(`${report.duplicates} duplicate transfers`);
    if (report.balanceMismatches > 0) report.violations.push(`${report.balanceMismatches} balances differ from the replayed log`);
    if (report.nonZeroCurrencies > 0) report.violations.push(`${report.nonZeroCurrencies} currencies do not sum to 0`);
    if ((report.status['500'] ?? 0) > 0) report.violations.push(`${report.status['500']} answers were 500`);
    if (report.unanswered > 0) report.violations.push(`${report.unanswered} transfers unanswered within the time limit`);
    if (report.apiKills < options.apiKills || report.redisKills < options.redisKills || report.redisPauses < options.redisPauses || report.failovers < (options.failover ? 1 : 0)) {
      report.violations.push('not every planned fault happened within the time limit');
    }
  } finally {
    await Promise.all(apis.map((api) => api.kill()));
    await Promise.all(proxies.map((proxy) => proxy.close()));
    await group.stop();
  }
  report.elapsedMs = Date.now() - started;
  return report;
}

/** The one summary line. */
export function summaryLine(report: ChaosReport): string {
  const { options } = report;
  const droppedPct = report.requests === 0 ? 0 : (100 * report.dropped) / report.requests;
  return [
    `chaos seed=${options.seed} wait=${options.waitReplicas}`,
    `transfers=${report.transfers} acknowledged=${report.acknowledged} refused=${report.refused} unanswered=${report.unanswered}`,
    `requests=${report.requests} dropped=${report.dropped} (${droppedPct.toFixed(1)}%) resets=${report.resets} 503=${report.status['503'] ?? 0} 500=${report.status['500'] ?? 0}`,
    `apiKills=${report.apiKills} redisKills=${report.redisKills} pauses=${report.redisPauses} failovers=${report.failovers} (unplanned ${report.unplannedFailovers}) lagBytes=${report.lagBytes} failover503=${report.failover503}`,
    `resent=${report.resent} reExecuted=${report.reExecuted} lost=${report.lost} duplicates=${report.duplicates} balanceMismatches=${report.balanceMismatches} nonZeroSums=${report.nonZeroCurrencies}`,
    `${(report.elapsedMs / 1000).toFixed(1)}s`,
    report.violations.length === 0 ? 'OK' : `VIOLATIONS: ${report.violations.join('; ')}`,
  ].join(' ');
}
