import { ArgsType, Field, InputType } from 'type-graphql';
import { IDEMPOTENCY_KEY_DESCRIPTION } from './idempotency.type';

@InputType()
export class CreateAccountInput {
  @Field()
  name!: string;

  @Field({ description: 'Three upper-case letters, e.g. "EUR".' })
  currency!: string;

  @Field(() => Boolean, { nullable: true, defaultValue: false })
  allowNegativeBalance!: boolean | null;
}

@ArgsType()
export class CreateAccountArgs {
  @Field(() => CreateAccountInput)
  input!: CreateAccountInput;

  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
  idempotencyKey!: string | null;
}
