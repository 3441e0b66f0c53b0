import { InvalidInputError } from '../../src/ledger/errors';
import { assertCurrency, assertTransferAmount, MAX_AMOUNT, parseAmount } from '../../src/ledger/money';
import { decodeCursor, encodeCursor, validateNewAccount, validateNewTransfer, validatePageSize } from '../../src/ledger/store';

describe('parseAmount', () => {
  it.each([
    ['0', 0n],
    ['1050', 1050n],
    ['-42', -42n],
    ['9007199254740991', MAX_AMOUNT],
    ['-9007199254740991', -MAX_AMOUNT],
    [7, 7n],
    [Number.MAX_SAFE_INTEGER, MAX_AMOUNT],
  ])('reads %p as %p', (input, expected) => {
    expect(parseAmount(input)).toBe(expected);
  });

  it.each([['10.50'], ['1e3'], [' 1'], ['+1'], ['01'], ['-0x10'], [''], ['9007199254740992'], ['-9007199254740992'], [10.5], [2 ** 53], [Number.NaN], [null], [true], [{}]])(
    'refuses %p',
    (input) => {
      expect(() => parseAmount(input)).toThrow(InvalidInputError);
    },
  );
});

describe('transfer amounts', () => {
  it('accepts 1 .. 2^53-1 and refuses 0, negatives and more', () => {
    expect(() => assertTransferAmount(1n)).not.toThrow();
    expect(() => assertTransferAmount(MAX_AMOUNT)).not.toThrow();
    for (const amount of [0n, -1n, MAX_AMOUNT + 1n]) expect(() => assertTransferAmount(amount)).toThrow(InvalidInputError);
  });
});

describe('currencies', () => {
  it('are three upper-case letters', () => {
    expect(() => assertCurrency('EUR')).not.toThrow();
    for (const bad of ['eur', 'EURO', 'EU', 'E1R', '', 'ÉUR']) expect(() => assertCurrency(bad)).toThrow(InvalidInputError);
  });
});

describe('input rules that need no stored data', () => {
  const transfer = { fromAccountId: 'a', toAccountId: 'b', amount: 5n, currency: 'EUR', reference: null };

  it('refuses a transfer from an account to itself', () => {
    expect(() => validateNewTransfer({ ...transfer, toAccountId: 'a' })).toThrow(/two different accounts/);
    expect(() => validateNewTransfer(transfer)).not.toThrow();
  });

  it('refuses blank or long names and long references', () => {
    expect(() => validateNewAccount({ name: '   ', currency: 'EUR', allowNegativeBalance: false })).toThrow(InvalidInputError);
    expect(() => validateNewAccount({ name: 'x'.repeat(201), currency: 'EUR', allowNegativeBalance: false })).toThrow(InvalidInputError);
    expect(() => validateNewTransfer({ ...transfer, reference: 'r'.repeat(501) })).toThrow(InvalidInputError);
  });

  it('bounds page sizes to 1..100', () => {
    for (const first of [1, 20, 100]) expect(() => validatePageSize(first)).not.toThrow();
    for (const first of [0, -1, 101]) expect(() => validatePageSize(first)).toThrow(InvalidInputError);
  });

  it('reads back its own cursors and refuses anything else', () => {
    expect(decodeCursor(encodeCursor(12345))).toBe(12345);
    for (const bad of ['', 'abc', Buffer.from('s:-1').toString('base64url'), Buffer.from('x:1').toString('base64url')]) {
      expect(() => decodeCursor(bad)).toThrow(InvalidInputError);
    }
  });
});
