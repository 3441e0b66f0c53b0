import type { ApolloServerPlugin } from '@apollo/server';
import { ErrorCode, HTTP_STATUS, isErrorCode } from '../errors';

function statusOf(code: unknown): number {
  return isErrorCode(code) ? HTTP_STATUS[code] : HTTP_STATUS[ErrorCode.INTERNAL_SERVER_ERROR];
}

/**
 * Sets the HTTP status in one place, from the rule of the API contract: a request that failed
 * before execution, or whose only root field failed, gets the status of its error's code;
 * anything with partial results is 200. (Apollo would otherwise apply `extensions.http` from
 * every error, last one winning.)
 */
export function httpStatusPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single') return;
          const { errors, data } = response.body.singleResult;
          if (!errors || errors.length === 0) return;
          const rootFields = data ? Object.keys(data) : [];
          let status = 200;
          if (data === undefined || data === null) {
            status = statusOf(errors[0]?.extensions?.code);
          } else if (rootFields.length === 1 && data[rootFields[0] as string] === null) {
            const failed = errors.find((error) => error.path?.[0] === rootFields[0]);
            if (failed) status = statusOf(failed.extensions?.code);
          }
          response.http.status = status;
        },
      };
    },
  };
}
