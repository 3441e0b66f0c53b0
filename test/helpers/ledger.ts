import { randomUUID } from 'node:crypto';
import { CreateAccountDocument, CreateTransferDocument } from '../generated/graphql';
import { gql } from './server';

/** Small helpers over the typed documents, for tests that need accounts and money in place. */
export function ledgerClient(url: string, apiKey: string) {
  const headers = { 'api-key': apiKey };
  return {
    headers,
    async account(name: string, currency = 'EUR', allowNegativeBalance = false): Promise<string> {
      const response = await gql(url, CreateAccountDocument, { input: { name, currency, allowNegativeBalance } }, headers);
      const id = response.body.data?.createAccount?.id;
      if (id === undefined) throw new Error(`createAccount failed: ${JSON.stringify(response.body)}`);
      return id;
    },
    /** A transfer with a fresh idempotency key unless one is given. */
    transfer(fromAccountId: string, toAccountId: string, amount: string, currency = 'EUR', reference: string | null = null, idempotencyKey: string = randomUUID()) {
      return gql(url, CreateTransferDocument, { input: { fromAccountId, toAccountId, amount, currency, reference }, idempotencyKey }, headers);
    },
  };
}
