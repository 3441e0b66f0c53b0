import { Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { AllowlistListSize, ScopesListSize } from './cost';
import { DateTimeScalar } from './scalars';

export enum ScopeEnum {
  READ = 'read',
  WRITE = 'write',
  ADMIN = 'admin',
}
registerEnumType(ScopeEnum, { name: 'Scope', description: 'What an api key may do: READ queries, WRITE ledger mutations, ADMIN key management.' });

@ObjectType({ simpleResolvers: true })
export class Tenant {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => DateTimeScalar)
  createdAt!: Date;
}

@ObjectType({ simpleResolvers: true, description: 'An api key. Its secret is never shown again after creation.' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field({ description: 'The public start of the key (oq_<tenant>_<id>), enough to recognise it, not to use it.' })
  prefix!: string;

  @Field(() => [ScopeEnum])
  @ScopesListSize()
  scopes!: ScopeEnum[];

  @Field(() => [String])
  @AllowlistListSize()
  ipAllowlist!: string[];

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  lastUsedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: Date | null;
}

@ObjectType({ simpleResolvers: true, description: 'The calling api key and its tenant.' })
export class Viewer {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => Tenant)
  tenant!: Tenant;
}

@ObjectType({ simpleResolvers: true, description: 'A new api key. The secret is shown once: a replay of the same createApiKey omits it.' })
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, { nullable: true, description: 'The whole key, to send as the api-key header. Store it now: it cannot be shown again.' })
  secret!: string | null;

  @Field({ description: 'True when this answer is a replay and the secret is therefore left out.' })
  secretOmitted!: boolean;
}
