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
