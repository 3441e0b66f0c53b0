import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { DEFAULT_PAGE_SIZE } from './connection';
import { IDEMPOTENCY_KEY_DESCRIPTION } from './idempotency.type';
import { AmountScalar } from './scalars';

@InputType()
export class CreateTransferInput {
  @Field(() => ID)
  fromAccountId!: string;

  @Field(() => ID)
  toAccountId!: string;

  @Field(() => AmountScalar, { description: 'Minor units, 1 to 2^53-1, as a digit string.' })
  amount!: bigint;

  @Field({ description: 'Must equal the currency of both accounts.' })
  currency!: string;

  @Field(() => String, { nullable: true })
  reference!: string | null;
}

@ArgsType()
export class CreateTransferArgs {
  @Field(() => CreateTransferInput)
  input!: CreateTransferInput;

  @Field(() => String, { nullable: true, description: `${IDEMPOTENCY_KEY_DESCRIPTION} Required for createTransfer.` })
  idempotencyKey!: string | null;
}

@ArgsType()
export class TransfersArgs {
  @Field(() => ID, { nullable: true, description: 'Only transfers from or to this account.' })
  accountId!: string | null;

  @Field(() => Int, { nullable: true, defaultValue: DEFAULT_PAGE_SIZE, description: 'Page size, 1 to 100.' })
  first!: number | null;

  @Field(() => String, { nullable: true, description: 'Return items after this cursor.' })
  after!: string | null;
}
