import { Kind, OperationTypeNode, getOperationAST } from 'graphql';
import type { DocumentNode, SelectionSetNode } from 'graphql';

/** The request header onceql reads a mutation's idempotency key from. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';

/** A fresh idempotency key: a UUID v4, from the platform's CSPRNG (browsers and Node 20+). */
export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/** What a client must know about an operation to give it a key. */
export interface KeyPlan {
  /** The operation is a mutation. */
  readonly mutation: boolean;
  /**
   * The operation is a mutation with exactly one root field that does not pass `idempotencyKey`
   * itself: its key can go in the `Idempotency-Key` header. (onceql refuses the header on an
   * operation with several mutation fields: each field then takes its own `idempotencyKey` argument.)
   */
  readonly headerKey: boolean;
}

const NOT_A_MUTATION: KeyPlan = { mutation: false, headerKey: false };

/**
 * Reads the operation that will run: is it a mutation, and may its key go in the header? Fragment
 * spreads on the mutation root are entered once each, so the walk is linear in the document.
 */
export function keyPlan(document: DocumentNode, operationName?: string | null): KeyPlan {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (operation === null || operation === undefined || operation.operation !== OperationTypeNode.MUTATION) return NOT_A_MUTATION;
  const fragments = new Map(document.definitions.flatMap((definition) => (definition.kind === Kind.FRAGMENT_DEFINITION ? [[definition.name.value, definition] as const] : [])));
  const entered = new Set<string>();
  const keys = new Set<string>();
  let passesKey = false;
  const walk = (selectionSet: SelectionSetNode): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value === '__typename') continue;
        keys.add(selection.alias?.value ?? selection.name.value);
        if (selection.arguments?.some((argument) => argument.name.value === 'idempotencyKey')) passesKey = true;
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        walk(selection.selectionSet);
      } else if (!entered.has(selection.name.value)) {
        entered.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment !== undefined) walk(fragment.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return { mutation: true, headerKey: keys.size === 1 && !passesKey };
}
