/**
 * Bounds on a request's variables, checked before graphql-js coerces them. Coercion reports every
 * unknown input field with a message that prints the whole input object, so 20,000 unknown fields
 * in a 200 KB body made a 10 MB answer and seconds of CPU; bounded here, the same body is refused
 * after one cheap walk that stops at the first bound it crosses.
 */
export interface VariableLimits {
  /** Values in all (objects, lists, scalars), counted over the whole `variables` object. */
  readonly maxNodes: number;
  /** Keys of one object (the top-level `variables` object included). */
  readonly maxKeysPerObject: number;
  /** Nesting of objects and lists (the `variables` object itself is level 1). */
  readonly maxDepth: number;
  /** Characters of one string (keys included). */
  readonly maxStringLength: number;
  /** Characters of all strings together (keys included). */
  readonly maxTotalStringLength: number;
}

/**
 * Generous for onceql's inputs (at most 5 fields per input object, names of 200 and references of
 * 500 characters, 100 allowlist entries) and small enough that any coercion error answer stays
 * small.
 */
export const DEFAULT_VARIABLE_LIMITS: VariableLimits = { maxNodes: 1000, maxKeysPerObject: 50, maxDepth: 8, maxStringLength: 2000, maxTotalStringLength: 16_384 };

/** Null when the variables are within the limits, else why not (never echoing a value). */
export function checkVariables(variables: unknown, limits: VariableLimits): string | null {
  let nodes = 0;
  let totalString = 0;
  // Iterative, so a deep value cannot overflow the stack before the depth bound is seen.
  const stack: { value: unknown; depth: number }[] = [{ value: variables, depth: 1 }];
  while (stack.length > 0) {
    const { value, depth } = stack.pop() as { value: unknown; depth: number };
    nodes += 1;
    if (nodes > limits.maxNodes) return `the variables hold more than ${limits.maxNodes} values`;
    if (typeof value === 'string') {
      if (value.length > limits.maxStringLength) return `a variable string is longer than ${limits.maxStringLength} characters`;
      totalString += value.length;
      if (totalString > limits.maxTotalStringLength) return `the variables' strings hold more than ${limits.maxTotalStringLength} characters`;
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > limits.maxDepth) return `the variables nest deeper than ${limits.maxDepth} levels`;
    if (Array.isArray(value)) {
      if (nodes + value.length > limits.maxNodes) return `the variables hold more than ${limits.maxNodes} values`;
      for (const item of value) stack.push({ value: item, depth: depth + 1 });
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > limits.maxKeysPerObject) return `a variables object has ${keys.length} keys; the limit is ${limits.maxKeysPerObject}`;
    for (const key of keys) {
      if (key.length > limits.maxStringLength) return `a variable key is longer than ${limits.maxStringLength} characters`;
      totalString += key.length;
      if (totalString > limits.maxTotalStringLength) return `the variables' strings hold more than ${limits.maxTotalStringLength} characters`;
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1 });
    }
  }
  return null;
}
