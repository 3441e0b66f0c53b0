/** The requests every variant of a scenario answers: the same text, whatever serves it. */

export const TRANSFER = `mutation Transfer($input: CreateTransferInput!, $key: String) {
  createTransfer(input: $input, idempotencyKey: $key) { id amount fromAccount { balance } toAccount { balance } }
}`;

export const ACCOUNT_QUERY = `query Account($id: ID!) {
  account(id: $id) {
    id name balance
    transfers(first: 20) {
      edges { cursor node { id amount currency createdAt fromAccount { name } toAccount { name } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}`;

export function transferBody(fromAccountId: string, toAccountId: string, key: string | null): string {
  return JSON.stringify({ query: TRANSFER, variables: { input: { fromAccountId, toAccountId, amount: '1', currency: 'EUR', reference: null }, key } });
}

export function accountQueryBody(accountId: string): string {
  return JSON.stringify({ query: ACCOUNT_QUERY, variables: { id: accountId } });
}
