import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, isScalarType, specifiedScalarTypes } from 'graphql';
import type { ConstDirectiveNode } from 'graphql';

// The committed schema.graphql tells typed clients what they need: which mutations take an
// idempotency key (@idempotent, required or not) and what each custom scalar holds.

const schema = buildSchema(readFileSync(path.join(__dirname, '../../schema.graphql'), 'utf8'));

function idempotentOf(directives: readonly ConstDirectiveNode[] | undefined): { required: boolean } | null {
  const directive = directives?.find((node) => node.name.value === 'idempotent');
  if (directive === undefined) return null;
  const required = directive.arguments?.find((argument) => argument.name.value === 'required');
  return { required: required?.value.kind === 'BooleanValue' && required.value.value };
}

describe('schema.graphql for typed clients', () => {
  it('declares @idempotent and marks exactly the mutations that take a key; createTransfer requires one', () => {
    expect(schema.getDirective('idempotent')?.args.map((arg) => [arg.name, String(arg.type), arg.defaultValue])).toEqual([['required', 'Boolean!', false]]);
    const fields = Object.values(schema.getMutationType()?.getFields() ?? {});
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) {
      const takesKey = field.args.some((arg) => arg.name === 'idempotencyKey');
      expect([field.name, idempotentOf(field.astNode?.directives) !== null]).toEqual([field.name, takesKey]);
    }
    expect(Object.fromEntries(fields.map((field) => [field.name, idempotentOf(field.astNode?.directives)?.required]))).toEqual({
      createAccount: false,
      createTransfer: true,
      createApiKey: false,
      revokeApiKey: false,
    });
  });

  it('describes every custom scalar, and links DateTime to its specification', () => {
    const custom = Object.values(schema.getTypeMap()).filter((type) => isScalarType(type) && !specifiedScalarTypes.some((builtin) => builtin.name === type.name));
    expect(custom.map((type) => type.name).sort()).toEqual(['Amount', 'DateTime']);
    for (const type of custom) expect([type.name, (type.description ?? '').length > 20]).toEqual([type.name, true]);
    expect(schema.getType('Amount')?.description).toMatch(/digit string/);
    expect(isScalarType(schema.getType('DateTime')) && (schema.getType('DateTime') as { specifiedByURL?: string }).specifiedByURL).toMatch(/^https:\/\//);
  });
});
