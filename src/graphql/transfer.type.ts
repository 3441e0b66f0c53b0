import { Field, ID, ObjectType } from 'type-graphql';
import { Account } from './account.type';
import { connectionType } from './connection';
import { AmountScalar, DateTimeScalar } from './scalars';

@ObjectType({ simpleResolvers: true, description: 'Money moved from one account to another of the same currency.' })
export class Transfer {
  @Field(() => ID)
  id!: string;

  @Field(() => Account)
  fromAccount!: Account;

  @Field(() => Account)
  toAccount!: Account;

  @Field(() => AmountScalar, { description: 'Minor units, 1 to 2^53-1.' })
  amount!: bigint;

  @Field()
  currency!: string;

  @Field(() => String, { nullable: true })
  reference!: string | null;

  @Field(() => DateTimeScalar)
  createdAt!: Date;
}

export const TransferConnection = connectionType('Transfer', Transfer);
export const AccountConnection = connectionType('Account', Account);
