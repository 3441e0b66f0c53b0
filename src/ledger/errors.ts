/**
 * Domain errors of the ledger. They know nothing of GraphQL; `graphql/errors.ts` maps each one to a
 * public error code.
 */
export class LedgerError extends Error {}

/** Input that is wrong whatever is stored: a bad amount, currency, name or page size. */
export class InvalidInputError extends LedgerError {
  override readonly name = 'InvalidInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class AccountNotFoundError extends LedgerError {
  override readonly name = 'AccountNotFoundError';
  constructor(readonly accountId: string) {
    super(`Account ${accountId} does not exist.`);
  }
}

export class CurrencyMismatchError extends LedgerError {
  override readonly name = 'CurrencyMismatchError';
  constructor() {
    super('The transfer currency must equal the currency of both accounts.');
  }
}

export class InsufficientFundsError extends LedgerError {
  override readonly name = 'InsufficientFundsError';
  constructor(readonly accountId: string) {
    super(`Account ${accountId} has insufficient funds and may not go negative.`);
  }
}

export class BalanceLimitExceededError extends LedgerError {
  override readonly name = 'BalanceLimitExceededError';
  constructor() {
    super('The transfer would take a balance outside -(2^53-1) .. 2^53-1.');
  }
}
