import { DirectiveLocation, GraphQLBoolean, GraphQLDirective, GraphQLNonNull } from 'graphql';
import { Directive } from 'type-graphql';

/**
 * `@idempotent` tells typed clients, in `schema.graphql`, which mutations take an idempotency key
 * (as Shopify marks its idempotent mutations): codegen and client links can read it from the
 * schema instead of from prose. `required: true` marks a mutation refused without a key.
 */
export const idempotentDirective = new GraphQLDirective({
  name: 'idempotent',
  description:
    'This mutation takes an idempotency key: send one key (a UUID v4) per user action, in the Idempotency-Key header or the idempotencyKey argument, and every retry with the same key gets the first outcome instead of running again. Without a key a retry may run it twice.',
  locations: [DirectiveLocation.FIELD_DEFINITION],
  args: {
    required: { type: new GraphQLNonNull(GraphQLBoolean), defaultValue: false, description: 'Whether the mutation is refused without a key (IDEMPOTENCY_KEY_REQUIRED).' },
  },
});

/** Marks a mutation field with `@idempotent` in the schema. */
export function IdempotentMutation(options: { readonly required?: boolean } = {}): ReturnType<typeof Directive> {
  return Directive(options.required === true ? '@idempotent(required: true)' : '@idempotent');
}
