import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake "payment network": the other company's API that the leased path exists for. It has its
 * own idempotency, the way real payment APIs do: a request carries `Idempotency-Key`, the first
 * request with a key decides the answer, and every later request with that key gets the same
 * answer without charging again. Tests can fail requests and hold them mid-flight.
 *
 *   POST /charges  {"amount": "1050", "currency": "EUR", "destination": "acct_1"}
 *     201  the charge (a repeat of the key: 201 with the same charge)
 *     402  {"error": {"code": "card_declined"}} when destination is "declined" (also recorded per key)
 *     400  a malformed request; 422 the key was used with another body; 500 from failNext()
 *   Every response has a fresh `Request-Id` header, so a caller can tell two answers apart.
 */

export interface Charge {
  readonly id: string;
  /** Minor units, as an integer string. */
  readonly amount: string;
  readonly currency: string;
  readonly destination: string;
  readonly idempotencyKey: string;
}

/**
 * Where a held request waits: `beforeApply` before anything happens (the charge is made when it is
 * let go, unless a request with the same key made it first), `afterApply` after the charge is made
 * and before the answer is sent (the caller does not learn of a charge that exists).
 */
export type HoldPhase = 'beforeApply' | 'afterApply';

export interface PaymentNetworkOptions {
  /** Destination that is always declined (402). Default `declined`. */
  readonly declinedDestination?: string;
  /**
   * A file where every decided answer is appended (one JSON line, written before the answer is
   * sent) and read back at start: the network's idempotency survives a SIGKILL of its process, as a
   * real payment network's does. Default: memory only.
   */
  readonly journalPath?: string;
  /** Port to listen on (default 0: a free one); a restarted network keeps its address. */
  readonly port?: number;
  /** Wait this long after deciding an answer before sending it (default 0): a window in which a caller can die mid-call. */
  readonly answerDelayMs?: number;
  /** Called once a new charge is applied (not for repeats), before its answer is sent. */
  readonly onApplied?: (charge: Charge) => void;
}

/** One POST /charges as it arrived. */
export interface NetworkRequest {
  /** The `Request-Id` the answer carries. */
  readonly requestId: string;
  readonly idempotencyKey: string;
}

export interface PaymentNetwork {
  /** Base URL, e.g. `http://127.0.0.1:34567`. */
  readonly url: string;
  /** The charges applied, in order. */
  readonly charges: readonly Charge[];
  /** Every POST /charges with an Idempotency-Key, in order of arrival. */
  readonly requests: readonly NetworkRequest[];
  /** Charges applied for one Idempotency-Key (0 or 1 if deduplication works), or in all. */
  appliedCount(key?: string): number;
  /** POST /charges requests received for one Idempotency-Key, or in all (repeats included). */
  requestCount(key?: string): number;
  /** Holds the next `count` requests at `phase` until {@link releaseHeld}. */
  hold(count?: number, phase?: HoldPhase): void;
  /** Requests held right now. */
  heldCount(): number;
  /** Resolves once at least `count` requests are held. */
  waitForHeld(count?: number): Promise<void>;
  /** Lets every held request go on. */
  releaseHeld(): void;
  /** Answers the next `count` requests with 500, before doing anything (nothing is recorded). */
  failNext(count?: number): void;
  /** Releases held requests, closes every connection and the listener. */
  close(): Promise<void>;
}

interface StoredAnswer {
  readonly fingerprint: string;
  readonly status: number;
  readonly body: unknown;
}

class BadRequest extends Error {}

function parseCharge(text: string): { amount: string; currency: string; destination: string } {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequest('the body is not JSON');
  }
  const { amount, currency, destination } = (body ?? {}) as Record<string, unknown>;
  if (typeof amount !== 'string' || !/^[1-9][0-9]{0,17}$/.test(amount)) throw new BadRequest('amount must be a positive integer string');
  if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency)) throw new BadRequest('currency must be an ISO 4217 code');
  if (typeof destination !== 'string' || destination.length === 0) throw new BadRequest('destination must be a non-empty string');
  return { amount, currency, destination };
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the fake network on 127.0.0.1, on a free port. */
export async function startPaymentNetwork(options: PaymentNetworkOptions = {}): Promise<PaymentNetwork> {
  const declinedDestination = options.declinedDestination ?? 'declined';
  const charges: Charge[] = [];
  const answers = new Map<string, StoredAnswer>();
  const requests: NetworkRequest[] = [];
  const holds: HoldPhase[] = [];
  const held = new Set<() => void>();
  const heldWatchers: { count: number; resolve: () => void }[] = [];
  let failuresLeft = 0;
  let requestNumber = 0;
  let chargeNumber = 0;
  if (options.journalPath !== undefined && existsSync(options.journalPath)) {
    for (const line of readFileSync(options.journalPath, 'utf8').split('\n')) {
      if (line === '') continue;
      const { key, answer } = JSON.parse(line) as { key: string; answer: StoredAnswer };
      answers.set(key, answer);
      if (answer.status === 201) {
        charges.push(answer.body as Charge);
        chargeNumber += 1;
      }
    }
  }

  function notifyHeld(): void {
    for (const watcher of [...heldWatchers]) {
      if (held.size >= watcher.count) {
        heldWatchers.splice(heldWatchers.indexOf(watcher), 1);
        watcher.resolve();
      }
    }
  }

  function waitUntilReleased(): Promise<void> {
    return new Promise((resolve) => {
      const release = () => {
        held.delete(release);
        resolve();
      };
      held.add(release);
      notifyHeld();
    });
  }

  /** The first request with a key decides the answer; later ones with the same body get it again. */
  function answerFor(key: string, fingerprint: string, charge: { amount: string; currency: string; destination: string }): StoredAnswer {
    const stored = answers.get(key);
    if (stored !== undefined) {
      if (stored.fingerprint !== fingerprint) return { fingerprint, status: 422, body: { error: { code: 'idempotency_key_reused' } } };
      return stored;
    }
    let answer: StoredAnswer;
    if (charge.destination === declinedDestination) {
      answer = { fingerprint, status: 402, body: { error: { code: 'card_declined', message: 'The destination declined the charge.' } } };
    } else {
      chargeNumber += 1;
      const applied: Charge = { id: `ch_${chargeNumber}_${key.slice(0, 8)}`, ...charge, idempotencyKey: key };
      charges.push(applied);
      answer = { fingerprint, status: 201, body: applied };
    }
    answers.set(key, answer);
    // Written (to the kernel) before the answer leaves: a SIGKILL after this keeps the charge.
    if (options.journalPath !== undefined) appendFileSync(options.journalPath, `${JSON.stringify({ key, answer })}\n`);
    if (answer.status === 201) options.onApplied?.(answer.body as Charge);
    return answer;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    requestNumber += 1;
    const requestId = `req_${requestNumber}`;
    res.setHeader('request-id', requestId);
    const send = (status: number, body: unknown) => {
      if (res.destroyed) return;
      res.statusCode = status;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== '/charges') return send(404, { error: { code: 'not_found' } });
    const text = await readBody(req);
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key.length === 0) return send(400, { error: { code: 'idempotency_key_missing' } });
    requests.push({ requestId, idempotencyKey: key });
    if (failuresLeft > 0) {
      failuresLeft -= 1;
      return send(500, { error: { code: 'internal_error' } });
    }
    let charge;
    try {
      charge = parseCharge(text);
    } catch (error) {
      if (error instanceof BadRequest) return send(400, { error: { code: 'invalid_request', message: error.message } });
      throw error;
    }
    const phase = holds.shift();
    if (phase === 'beforeApply') await waitUntilReleased();
    const answer = answerFor(key, JSON.stringify(charge), charge);
    if (phase === 'afterApply') await waitUntilReleased();
    if ((options.answerDelayMs ?? 0) > 0) await new Promise((resolve) => setTimeout(resolve, options.answerDelayMs));
    return send(answer.status, answer.body);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.statusCode = 500;
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const releaseHeld = () => {
    for (const release of [...held]) release();
  };
  return {
    url: `http://127.0.0.1:${port}`,
    charges,
    requests,
    appliedCount: (key) => (key === undefined ? charges.length : charges.filter((charge) => charge.idempotencyKey === key).length),
    requestCount: (key) => (key === undefined ? requests.length : requests.filter((request) => request.idempotencyKey === key).length),
    hold(count = 1, phase = 'afterApply') {
      for (let i = 0; i < count; i++) holds.push(phase);
    },
    heldCount: () => held.size,
    waitForHeld(count = 1) {
      return new Promise<void>((resolve) => {
        heldWatchers.push({ count, resolve });
        notifyHeld();
      });
    },
    releaseHeld,
    failNext(count = 1) {
      failuresLeft += count;
    },
    async close() {
      holds.length = 0;
      releaseHeld();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
