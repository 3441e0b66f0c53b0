import { InvalidInputError } from './errors';

/** The largest amount and the largest absolute balance: 2^53 - 1 minor units. */
export const MAX_AMOUNT = 9_007_199_254_740_991n;

const AMOUNT_PATTERN = /^-?(0|[1-9][0-9]*)$/;
const CURRENCY_PATTERN = /^[A-Z]{3}$/;

/**
 * Reads an amount of minor units from the wire: a digit string with an optional leading "-", or a
 * JSON integer that is a safe integer. Never a float.
 */
export function parseAmount(value: unknown): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new InvalidInputError('amount', 'Amount must be an integer number of minor units within ±(2^53-1); send it as a digit string.');
    }
    return BigInt(value);
  }
  if (typeof value !== 'string' || !AMOUNT_PATTERN.test(value)) {
    throw new InvalidInputError('amount', 'Amount must be a string of digits (integer minor units, e.g. "1050" for 10.50), with an optional leading "-".');
  }
  const amount = BigInt(value);
  if (amount > MAX_AMOUNT || amount < -MAX_AMOUNT) {
    throw new InvalidInputError('amount', 'Amount must be within ±(2^53-1) minor units.');
  }
  return amount;
}

/** A transfer moves 1 .. 2^53-1 minor units. */
export function assertTransferAmount(amount: bigint): void {
  if (amount < 1n || amount > MAX_AMOUNT) {
    throw new InvalidInputError('amount', 'A transfer amount must be between 1 and 9007199254740991 minor units.');
  }
}

/** Three upper-case letters, as ISO 4217 codes are ("EUR", "USD"). */
export function assertCurrency(currency: string): void {
  if (!CURRENCY_PATTERN.test(currency)) {
    throw new InvalidInputError('currency', `Currency must be three upper-case letters such as "EUR", got "${currency.slice(0, 16)}".`);
  }
}
