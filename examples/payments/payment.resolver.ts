import { Arg, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { Idempotent, IdempotencyCallParam } from '@onceql/idempotency/type-graphql';
import type { IdempotencyCall } from '@onceql/idempotency';
import type { PaymentsContext } from './context';
import { CreatePaymentInput, Payment } from './payment.type';
import type { PaymentRecord } from './payment.type';

@Resolver(() => Payment)
export class PaymentResolver {
  @Query(() => String, { nullable: true })
  health(): string {
    return 'ok';
  }

  @Mutation(() => Payment, { nullable: true, description: 'Charges the payment network exactly once per idempotency key.' })
  @Idempotent({ required: true, path: 'leased', resourceId: (payment: PaymentRecord) => payment.id })
  async createPayment(
    @Arg('input', () => CreatePaymentInput) input: CreatePaymentInput,
    @Arg('idempotencyKey', () => String, { nullable: true }) _idempotencyKey: string | null,
    @Ctx() ctx: PaymentsContext,
    @IdempotencyCallParam() call: IdempotencyCall | null,
  ): Promise<PaymentRecord> {
    // `required: true` guarantees a key, and the leased path sets `execution` before calling us.
    const execution = call?.execution;
    if (execution === undefined) throw new Error('createPayment ran without a leased execution');
    const payment = await ctx.network.charge(input, execution.downstreamKey);
    await ctx.beforeComplete?.(payment, execution);
    return payment;
  }
}
