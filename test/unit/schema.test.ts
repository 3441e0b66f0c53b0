import { readFileSync } from 'node:fs';
import path from 'node:path';
import { printLedgerSchema } from '../../src/graphql/print-schema';

describe('schema.graphql', () => {
  const committed = readFileSync(path.resolve(__dirname, '../../schema.graphql'), 'utf8');

  it('is what the code emits (run `npm run schema` after changing the GraphQL types)', () => {
    expect(printLedgerSchema()).toBe(committed);
  });

  it('keeps the contract of DESIGN.md: argument order, defaults, nullability', () => {
    const compact = committed.replace(/"""[\s\S]*?"""/g, '').replace(/\s+/g, ' ');
    expect(compact).toContain('transfers( accountId: ID first: Int = 20 after: String ): TransferConnection!');
    expect(compact).toContain('accounts( first: Int = 20 after: String ): AccountConnection!');
    expect(compact).toContain('account(id: ID!): Account ');
    expect(compact).toContain('createAccount( input: CreateAccountInput! idempotencyKey: String ): Account ');
    expect(compact).toContain('createTransfer( input: CreateTransferInput! idempotencyKey: String ): Transfer ');
    expect(compact).toContain('idempotencyRecord(key: String!): IdempotencyRecord ');
    expect(compact).toContain('input CreateTransferInput { fromAccountId: ID! toAccountId: ID! amount: Amount! currency: String! reference: String }');
    expect(compact).toContain('scalar Amount');
    expect(compact).toContain('scalar DateTime');
  });
});
