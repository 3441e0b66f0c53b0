import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { InvalidInputError } from '../ledger/errors';
import { parseAmount } from '../ledger/money';

function amountFromInput(value: unknown): bigint {
  try {
    return parseAmount(value);
  } catch (error) {
    if (error instanceof InvalidInputError) throw new GraphQLError(error.message);
    throw error;
  }
}

/**
 * Integer minor units as a digit string with an optional leading "-": "1050" is 10.50.
 * Inputs also accept a JSON integer that is a safe integer; outputs are always strings.
 */
export const AmountScalar = new GraphQLScalarType<bigint, string>({
  name: 'Amount',
  description: 'Integer minor units as a digit string, optional leading "-": "1050" is 10.50. Never a float.',
  serialize(value) {
    if (typeof value === 'bigint') return value.toString();
    if (typeof value === 'string' && /^-?\d+$/.test(value)) return value;
    throw new GraphQLError('Amount cannot represent a non-integer value');
  },
  parseValue: amountFromInput,
  parseLiteral(ast) {
    if (ast.kind === Kind.STRING) return amountFromInput(ast.value);
    if (ast.kind === Kind.INT) {
      const value = BigInt(ast.value);
      return amountFromInput(value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : ast.value);
    }
    throw new GraphQLError('Amount must be a string of digits such as "1050"');
  },
});

/** ISO-8601 date-time in UTC, e.g. "2026-11-22T09:30:00.000Z". */
export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'ISO-8601 date-time in UTC, e.g. "2026-11-22T09:30:00.000Z".',
  specifiedByURL: 'https://scalars.graphql.org/andimarek/date-time',
  serialize(value) {
    if (value instanceof Date && !Number.isNaN(value.getTime())) return value.toISOString();
    throw new GraphQLError('DateTime cannot represent an invalid date');
  },
  parseValue(value) {
    const date = typeof value === 'string' ? new Date(value) : new Date(NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
    return date;
  },
  parseLiteral(ast) {
    const date = ast.kind === Kind.STRING ? new Date(ast.value) : new Date(NaN);
    if (Number.isNaN(date.getTime())) throw new GraphQLError('DateTime must be an ISO-8601 string');
    return date;
  },
});
