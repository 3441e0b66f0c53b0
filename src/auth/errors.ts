/** Domain errors of api-key management; `graphql/errors.ts` maps them to public codes. */
export class AuthInputError extends Error {
  override readonly name = 'AuthInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export class ApiKeyNotFoundError extends Error {
  override readonly name = 'ApiKeyNotFoundError';
  constructor(readonly keyId: string) {
    super(`Api key ${keyId} does not exist.`);
  }
}

/**
 * A key asked to create a key with more power than its own (scopes, addresses or request rate):
 * refused before anything is written. `rule` names which limit it broke.
 */
export class KeyEscalationError extends Error {
  override readonly name = 'KeyEscalationError';
  constructor(
    readonly rule: 'scopes' | 'ipAllowlist' | 'rateLimitPerSecond',
    message: string,
  ) {
    super(message);
  }
}
