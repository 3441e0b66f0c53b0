import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { DateTimeScalar } from './scalars';

export const IDEMPOTENCY_KEY_DESCRIPTION =
  'Makes the mutation happen once: a retry with the same key gets the first outcome. 1-255 visible ASCII characters; a UUID v4 is recommended. The Idempotency-Key header works too.';

export enum IdempotencyStatus {
  IN_PROGRESS = 'IN_PROGRESS',
  COMPLETED = 'COMPLETED',
}
registerEnumType(IdempotencyStatus, { name: 'IdempotencyStatus' });

export enum IdempotencyOutcome {
  SUCCEEDED = 'SUCCEEDED',
  FAILED = 'FAILED',
}
registerEnumType(IdempotencyOutcome, { name: 'IdempotencyOutcome' });

@ObjectType({ simpleResolvers: true, description: 'What happened to a mutation sent with an idempotency key.' })
export class IdempotencyRecord {
  @Field()
  key!: string;

  @Field(() => IdempotencyStatus)
  status!: IdempotencyStatus;

  @Field({ description: 'The mutation field the key was first used with.' })
  mutation!: string;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  completedAt!: Date | null;

  @Field(() => DateTimeScalar, { description: 'After this, the record is gone and the key is new again.' })
  expiresAt!: Date;

  @Field(() => IdempotencyOutcome, { nullable: true })
  outcome!: IdempotencyOutcome | null;

  @Field(() => String, { nullable: true, description: 'The error code of a FAILED outcome, replayed to every retry.' })
  errorCode!: string | null;

  @Field(() => ID, { nullable: true, description: 'The id of what the mutation created.' })
  resourceId!: string | null;

  @Field(() => Int, { description: 'How many retries got the recorded outcome instead of executing.' })
  replayCount!: number;
}
