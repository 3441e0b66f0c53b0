import { GraphQLError } from 'graphql';
import type { ASTVisitor, ValidationContext } from 'graphql';

/**
 * A validation rule (graphql-js 17 has it as KnownOperationTypesRule; 16 does not): an operation
 * whose type has no root in the schema is invalid. Without it a `subscription` passes validation
 * and fails inside execution, which answers 500.
 */
export function KnownOperationTypesRule(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  return {
    OperationDefinition(node) {
      const operation = node.operation;
      const root = operation === 'query' ? schema.getQueryType() : operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
      if (root) return;
      const hint = operation === 'subscription' ? ' Subscriptions are not served; poll with a query instead.' : '';
      context.reportError(new GraphQLError(`This API does not support ${operation} operations.${hint}`, { nodes: node }));
    },
  };
}
