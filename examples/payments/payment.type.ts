import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';

function parseAmount(value: unknown): bigint {
  if (typeof value !== 'string' || !/^[1-9][0-9]{0,17}$/.test(value)) {
    throw new GraphQLError('Amount must be a positive integer string of minor units, e.g. "1050" for 10.50.', { extensions: { code: 'BAD_USER_INPUT' } });
  }
  return BigInt(value);
}

/** Money in minor units: a bigint in TypeScript, an integer string on the wire. Checked before execution. */
export const AmountScalar = new GraphQLScalarType<bigint, string>({
  name: 'Amount',
  description: 'A positive amount in minor units, as an integer string: "1050" is 10.50.',
  serialize: (value) => {
    if (typeof value !== 'bigint') throw new TypeError('Amount: expected a bigint');
    return value.toString();
  },
  parseValue: parseAmount,
  parseLiteral: (ast) => parseAmount(ast.kind === Kind.STRING ? ast.value : undefined),
});

export enum Currency {
  EUR = 'EUR',
  USD = 'USD',
  GBP = 'GBP',
}
registerEnumType(Currency, { name: 'Currency' });

/** What the resolver returns and the idempotency record stores. */
export interface PaymentRecord {
  /** The payment network's charge id. */
  readonly id: string;
  readonly amount: bigint;
  readonly currency: Currency;
  readonly destination: string;
  /** The network's `Request-Id` of the answer this payment was made from. */
  readonly networkRequestId: string;
}

@ObjectType({ description: 'A charge made on the payment network.' })
export class Payment {
  @Field(() => ID, { description: "The payment network's charge id." })
  id!: string;

  @Field(() => AmountScalar)
  amount!: bigint;

  @Field(() => Currency)
  currency!: Currency;

  @Field(() => String)
  destination!: string;

  @Field(() => String, { description: 'Request-Id of the network answer this payment was made from; a replay shows the original one.' })
  networkRequestId!: string;
}

@InputType()
export class CreatePaymentInput {
  @Field(() => AmountScalar)
  amount!: bigint;

  @Field(() => Currency)
  currency!: Currency;

  @Field(() => String, { description: 'Where the money goes; the fake network declines "declined".' })
  destination!: string;
}
