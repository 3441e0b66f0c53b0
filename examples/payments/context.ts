import type { LeasedExecution } from '@onceql/idempotency';
import type { PaymentNetworkClient } from './network-client';
import type { PaymentRecord } from './payment.type';

export interface PaymentsContext {
  readonly merchant: string;
  /** Idempotency namespace `pay:{m:<merchant>}`: the hash tag keeps a merchant's records in one slot. */
  readonly namespace: string;
  readonly network: PaymentNetworkClient;
  readonly beforeComplete?: (payment: PaymentRecord, execution: LeasedExecution) => Promise<void> | void;
}
