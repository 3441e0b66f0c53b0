import { Field, ID, ObjectType } from 'type-graphql';
import { AmountScalar, DateTimeScalar } from './scalars';

@ObjectType({ simpleResolvers: true, description: 'An account of the calling tenant. Its balance changes only through transfers.' })
export class Account {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'Three upper-case letters, e.g. "EUR".' })
  currency!: string;

  @Field(() => AmountScalar, { description: 'Current balance in minor units.' })
  balance!: bigint;

  @Field({ description: 'Accounts that may go negative are how money enters the ledger.' })
  allowNegativeBalance!: boolean;

  @Field(() => DateTimeScalar)
  createdAt!: Date;
}
