import { ArgsType, Field, ID, InputType, Int } from 'type-graphql';
import { IDEMPOTENCY_KEY_DESCRIPTION } from './idempotency.type';
import { ScopeEnum } from './viewer.type';

@InputType()
export class CreateApiKeyInput {
  @Field()
  name!: string;

  @Field(() => [ScopeEnum])
  scopes!: ScopeEnum[];

  @Field(() => [String], { nullable: true, description: 'IPv4/IPv6 addresses or CIDR ranges the key may be used from; empty or absent: anywhere.' })
  ipAllowlist!: string[] | null;

  @Field(() => Int, { nullable: true, description: "The key's own request rate; absent: the tenant's." })
  rateLimitPerSecond!: number | null;
}

@ArgsType()
export class CreateApiKeyArgs {
  @Field(() => CreateApiKeyInput)
  input!: CreateApiKeyInput;

  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
  idempotencyKey!: string | null;
}

@ArgsType()
export class RevokeApiKeyArgs {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true, description: IDEMPOTENCY_KEY_DESCRIPTION })
  idempotencyKey!: string | null;
}
