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

  it('declares and carries the IBM cost directives (@cost, @listSize) that the analysis reads', () => {
    const compact = committed.replace(/"""[\s\S]*?"""/g, '').replace(/\s+/g, ' ');
    expect(compact).toContain('directive @cost( weight: String! ) on ARGUMENT_DEFINITION | ENUM | FIELD_DEFINITION | INPUT_FIELD_DEFINITION | OBJECT | SCALAR');
    expect(compact).toContain(
      'directive @listSize( assumedSize: Int slicingArguments: [String!] sizedFields: [String!] requireOneSlicingArgument: Boolean = true ) on FIELD_DEFINITION',
    );
    const connection = '@listSize(assumedSize: 100, slicingArguments: ["first"], sizedFields: ["edges"], requireOneSlicingArgument: false)';
    expect(compact).toContain(`after: String ): AccountConnection! ${connection}`);
    expect(compact.split(`TransferConnection! ${connection}`)).toHaveLength(3); // Query.transfers and Account.transfers
    for (const mutation of ['): Account @cost(weight: "10")', '): Transfer @cost(weight: "10")', '): CreatedApiKey @cost(weight: "10")', '): ApiKey @cost(weight: "10")']) {
      expect(compact).toContain(mutation);
    }
    expect(compact).toContain('apiKeys: [ApiKey!]! @listSize(assumedSize: 100)');
  });
});
