import { GraphQLError } from 'graphql';
import type { Currency, PaymentRecord } from './payment.type';

/** A business outcome: recorded by the leased path and replayed to every retry of the key. */
export class PaymentDeclinedError extends GraphQLError {
  constructor(declineCode: string) {
    super('The payment network declined the charge.', { extensions: { code: 'PAYMENT_DECLINED', declineCode } });
  }
}

/** Anything else the network answers: not an outcome, so the leased path releases the claim. */
export class PaymentNetworkError extends Error {
  constructor(readonly status: number) {
    super(`the payment network answered ${status}`);
  }
}

export interface ChargeRequest {
  readonly amount: bigint;
  readonly currency: Currency;
  readonly destination: string;
}

/** Calls `POST /charges` of the payment network, passing the leased path's downstreamKey as its Idempotency-Key. */
export class PaymentNetworkClient {
  constructor(
    private readonly baseUrl: string,
    /** A call that gets no answer within this time fails (and releases the claim). Default 10 000 ms. */
    private readonly timeoutMs = 10_000,
  ) {}

  async charge(request: ChargeRequest, downstreamKey: string): Promise<PaymentRecord> {
    const response = await fetch(new URL('/charges', this.baseUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': downstreamKey },
      body: JSON.stringify({ amount: request.amount.toString(), currency: request.currency, destination: request.destination }),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const body = (await response.json().catch(() => null)) as Record<string, unknown> | null;
    if (response.status === 402) {
      const error = body?.error as { code?: unknown } | undefined;
      throw new PaymentDeclinedError(typeof error?.code === 'string' ? error.code : 'declined');
    }
    if (response.status !== 201 || body === null || typeof body.id !== 'string') throw new PaymentNetworkError(response.status);
    return {
      id: body.id,
      amount: request.amount,
      currency: request.currency,
      destination: request.destination,
      networkRequestId: response.headers.get('request-id') ?? '',
    };
  }
}
