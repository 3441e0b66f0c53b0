import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

/**
 * The dependency direction (DESIGN.md, Architecture) is a lint rule in eslint.config.mjs. These
 * cases lint code placed at paths that do not exist, through ESLint's Node API (`new ESLint({ cwd })`
 * and `lintText(code, { filePath })`) and the project's config, so each wrong-way import below is refused exactly as `npx eslint` would refuse it in
 * that file, and each right-way one passes (the rule is not just refusing everything).
 */
const ROOT = path.resolve(__dirname, '..', '..');

const PACKAGE_ESCAPE =
  "A package imports nothing outside itself by path: never onceql's src/ or test/, and another package only by its @onceql/... name (DESIGN.md, Architecture).";
const PACKAGE_ALIAS = "A package imports nothing of onceql's src/ or test/, by any name (DESIGN.md, Architecture).";
const ADOPT_ESCAPE =
  "The adoption example uses only the packages' public exports: nothing outside examples/adopt/ by path, never onceql's src/ or test/, the packages by their @onceql/... names (issue 15).";
const NOT_NORMALIZED =
  "Write a module path normalized (no '.', '..' or empty segment after its leading '../'s): a detour hides where the import goes.";
const LEDGER_GRAPHQL =
  'src/ledger/ knows nothing of GraphQL: no graphql, type-graphql, @apollo/* or graphql-* import, nothing from src/graphql, src/http or src/admit (DESIGN.md, Architecture).';
const PACKAGE_BY_NAME = 'Import a package by its @onceql/... name, not by a path into packages/ (DESIGN.md, Architecture).';
const PACKAGE_INTERNALS = "Import a package by its @onceql/... name and its public exports, not its src/, dist/, lua/ or test/ files.";
const STATIC_NAME = 'Name a module with a string literal here, so the dependency-direction rule can check where it goes.';

const DIRECTION_RULES = new Set(['@typescript-eslint/no-restricted-imports', 'no-restricted-syntax']);

type Message = { ruleId: string | null; message: string };

/** Lints each { file, code } with the project's config, in one ESLint process (see lint-text.mjs). */
function lintAll(cases: { file: string; code: string }[]): Message[][] {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'lint-text.mjs')], {
    cwd: ROOT,
    input: JSON.stringify(cases),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(output) as Message[][];
}

/** What the rule says about a refused import: no-restricted-imports names the path first. */
function refusal(spec: string | null, message: string): Message {
  return spec === null
    ? { ruleId: 'no-restricted-syntax', message }
    : { ruleId: '@typescript-eslint/no-restricted-imports', message: `'${spec}' import is restricted from being used by a pattern. ${message}` };
}

// [where the code pretends to live, the code, the refusal]
const WRONG_WAY: [string, string, Message][] = [
  // a package reaching into onceql's src/ and test/
  ['packages/idempotency/src/x.ts', "import { createRedis } from '../../../src/redis/client';\nexport const y = createRedis;\n", refusal('../../../src/redis/client', PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "import { a } from '../../src/redis/client';\nexport const y = a;\n", refusal('../../src/redis/client', PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "import type { Redis } from '../../../src/redis/client';\nexport type Y = Redis;\n", refusal('../../../src/redis/client', PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "export * from '../../../src/errors';\n", refusal('../../../src/errors', PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "export { ErrorCode } from '../../../src/errors';\n", refusal('../../../src/errors', PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "export const load = () => import('../../../src/redis/client');\n", refusal(null, PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "// eslint-disable-next-line @typescript-eslint/no-require-imports\nexport const app = require('../../..');\n", refusal(null, PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "export const where = require.resolve('../../../src/redis/client');\n", refusal(null, PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "// eslint-disable-next-line @typescript-eslint/consistent-type-imports\nexport type R = import('../../../src/redis/client').Redis;\n", refusal(null, PACKAGE_ESCAPE)],
  ['packages/ratelimit/src/lua/x.ts', "import { a } from '../../../../src/config';\nexport const y = a;\n", refusal('../../../../src/config', PACKAGE_ESCAPE)],
  ['packages/ratelimit/x.ts', "import { a } from '../../src/config';\nexport const y = a;\n", refusal('../../src/config', PACKAGE_ESCAPE)],
  ['packages/idempotency/test/x.test.ts', "import { startRedis } from '../../../test/helpers/redis';\nexport const y = startRedis;\n", refusal('../../../test/helpers/redis', PACKAGE_ESCAPE)],
  ['packages/idempotency/test/x.test.ts', "jest.mock('../../../src/redis/client');\n", refusal(null, PACKAGE_ESCAPE)],
  ['packages/idempotency/test/x.test.ts', "export const real = jest.requireActual('../../../src/config');\n", refusal(null, PACKAGE_ESCAPE)],
  // detours, so that counting `../` would say it stays inside
  ['packages/idempotency/src/x.ts', "import { a } from '../src/../../../src/redis/client';\nexport const y = a;\n", refusal('../src/../../../src/redis/client', NOT_NORMALIZED)],
  ['packages/idempotency/src/x.ts', "import { a } from './../../../src/redis/client';\nexport const y = a;\n", refusal('./../../../src/redis/client', NOT_NORMALIZED)],
  ['packages/idempotency/src/x.ts', "import { a } from '.././../../src/redis/client';\nexport const y = a;\n", refusal('.././../../src/redis/client', NOT_NORMALIZED)],
  ['packages/idempotency/src/x.ts', "import { a } from '@onceql/redis-script/../../src/redis/client';\nexport const y = a;\n", refusal('@onceql/redis-script/../../src/redis/client', NOT_NORMALIZED)],
  // onceql's src/ by another name
  ['packages/idempotency/src/x.ts', "import { a } from '/work/main/src/redis/client';\nexport const y = a;\n", refusal('/work/main/src/redis/client', PACKAGE_ALIAS)],
  ['packages/idempotency/src/x.ts', "import { a } from 'onceql/src/redis/client';\nexport const y = a;\n", refusal('onceql/src/redis/client', PACKAGE_ALIAS)],
  ['packages/idempotency/src/x.ts', "import { a } from 'src/redis/client';\nexport const y = a;\n", refusal('src/redis/client', PACKAGE_ALIAS)],
  // a module the rule cannot see
  ['packages/idempotency/src/x.ts', "const where = '../../../src/redis/client';\nexport const load = () => import(where);\n", refusal(null, STATIC_NAME)],
  ['packages/idempotency/src/x.ts', "export const load = () => import(`../../../src/redis/client`);\n", refusal(null, STATIC_NAME)],
  ['packages/idempotency/src/x.ts', "import { createRequire } from 'node:module';\nexport const load = createRequire(__filename);\n", refusal(null, STATIC_NAME)],
  // another package by path, or by its files
  ['packages/idempotency/src/x.ts', "import { defineScript } from '../../redis-script/src/index';\nexport const y = defineScript;\n", refusal('../../redis-script/src/index', PACKAGE_ESCAPE)],
  ['packages/idempotency/src/x.ts', "import { defineScript } from '@onceql/redis-script/src/index';\nexport const y = defineScript;\n", refusal('@onceql/redis-script/src/index', PACKAGE_INTERNALS)],
  ['src/server.ts', "import { a } from '../packages/idempotency/src/index';\nexport const y = a;\n", refusal('../packages/idempotency/src/index', PACKAGE_BY_NAME)],
  ['test/unit/x.test.ts', "import { a } from '../../packages/ratelimit/src/gcra';\nexport const y = a;\n", refusal('../../packages/ratelimit/src/gcra', PACKAGE_BY_NAME)],
  ['src/graphql/x.ts', "import { a } from '@onceql/idempotency/dist/plugin';\nexport const y = a;\n", refusal('@onceql/idempotency/dist/plugin', PACKAGE_INTERNALS)],
  // the adoption example, held to the same
  ['examples/adopt/server.ts', "import { createRedisClient } from '../../src/redis/client';\nexport const y = createRedisClient;\n", refusal('../../src/redis/client', ADOPT_ESCAPE)],
  ['examples/adopt/test/adopt.test.ts', "import { testRedisUrl } from '../../../test/helpers/redis';\nexport const y = testRedisUrl;\n", refusal('../../../test/helpers/redis', ADOPT_ESCAPE)],
  ['examples/adopt/server.ts', "import { a } from '../../packages/idempotency/src/plugin';\nexport const y = a;\n", refusal('../../packages/idempotency/src/plugin', ADOPT_ESCAPE)],
  // GraphQL in the ledger
  ['src/ledger/x.ts', "import { GraphQLError } from 'graphql';\nexport const y = GraphQLError;\n", refusal('graphql', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import type { DocumentNode } from 'graphql/language/ast';\nexport type Y = DocumentNode;\n", refusal('graphql/language/ast', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import { Field } from 'type-graphql';\nexport const y = Field;\n", refusal('type-graphql', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import { ApolloServer } from '@apollo/server';\nexport const y = ApolloServer;\n", refusal('@apollo/server', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import { BigIntResolver } from 'graphql-scalars';\nexport const y = BigIntResolver;\n", refusal('graphql-scalars', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import { mapSchema } from '@graphql-tools/utils';\nexport const y = mapSchema;\n", refusal('@graphql-tools/utils', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import { toApiError } from '../graphql/errors';\nexport const y = toApiError;\n", refusal('../graphql/errors', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import { respond } from '../http/respond';\nexport const y = respond;\n", refusal('../http/respond', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "export * from '../admit/admit';\n", refusal('../admit/admit', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import { a } from '../../src/graphql/errors';\nexport const y = a;\n", refusal('../../src/graphql/errors', LEDGER_GRAPHQL)],
  ['src/ledger/rules/x.ts', "import { a } from '../../graphql/errors';\nexport const y = a;\n", refusal('../../graphql/errors', LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "import { a } from '../redis/../graphql/errors';\nexport const y = a;\n", refusal('../redis/../graphql/errors', NOT_NORMALIZED)],
  ['src/ledger/x.ts', "export const load = () => import('graphql');\n", refusal(null, LEDGER_GRAPHQL)],
  ['src/ledger/x.ts', "// eslint-disable-next-line @typescript-eslint/no-require-imports\nexport const g = require('../graphql/schema');\n", refusal(null, LEDGER_GRAPHQL)],
];

const RIGHT_WAY: [string, string][] = [
  ['packages/idempotency/src/x.ts', "import { defineScript } from '@onceql/redis-script';\nexport const y = defineScript;\n"],
  ['packages/idempotency/src/x.ts', "import { a } from './codec';\nexport * from './plugin';\nexport const y = a;\n"],
  ['packages/idempotency/src/lua/x.ts', "import { a } from '../codec';\nexport const y = a;\n"],
  ['packages/idempotency/src/x.ts', "import { GraphQLError } from 'graphql';\nimport type { ApolloServerPlugin } from '@apollo/server';\nexport type P = ApolloServerPlugin;\nexport const y = GraphQLError;\n"],
  ['packages/idempotency/test/x.test.ts', "import { a } from '../src/index';\nimport { b } from '../src/codec';\njest.mock('../src/codec');\nexport const y = [a, b];\n"],
  ['packages/ratelimit/src/x.ts', "import path from 'node:path';\nexport const lua = path.join(__dirname, '..', 'lua', 'gcra.lua');\n"],
  ['packages/ratelimit/src/x.ts', "export const load = () => import('./budget');\n"],
  ['src/server.ts', "import { idempotencyPlugin } from '@onceql/idempotency';\nimport { a } from './graphql/errors';\nexport const y = [idempotencyPlugin, a];\n"],
  ['test/unit/x.test.ts', "import { a } from '../../src/redis/client';\nimport { b } from '@onceql/client/apollo';\nexport const y = [a, b];\n"],
  ['src/ledger/x.ts', "import { a } from '../redis/client';\nimport { b } from './errors';\nimport { c } from '../text';\nimport { d } from '@onceql/idempotency';\nexport const y = [a, b, c, d];\n"],
  ['examples/adopt/server.ts', "import { idempotencyPlugin } from '@onceql/idempotency';\nimport { rateLimitPlugin } from '@onceql/ratelimit';\nimport { schema } from './schema';\nexport const y = [idempotencyPlugin, rateLimitPlugin, schema];\n"],
  ['src/graphql/x.ts', "import { GraphQLError } from 'graphql';\nimport { a } from '../ledger/store';\nexport const y = [GraphQLError, a];\n"],
];

/** `file: the first line of code that is not a comment`, for a test's name. */
function title(file: string, code: string): string {
  return `${file}: ${code.split('\n').find((line) => !line.startsWith('//'))}`;
}

const DEEP_FILE = `packages/idempotency/${'d/'.repeat(14)}x.ts`;

let wrongWayMessages: Message[][];
let rightWayMessages: Message[][];
let deepFileMessages: Message[];
beforeAll(() => {
  const all = lintAll([
    ...WRONG_WAY.map(([file, code]) => ({ file, code })),
    ...RIGHT_WAY.map(([file, code]) => ({ file, code })),
    { file: DEEP_FILE, code: 'export const y = 1;\n' },
  ]);
  wrongWayMessages = all.slice(0, WRONG_WAY.length);
  rightWayMessages = all.slice(WRONG_WAY.length, WRONG_WAY.length + RIGHT_WAY.length);
  deepFileMessages = all[all.length - 1] ?? [];
}, 60_000);

describe('dependency direction lint rule', () => {
  test.each(WRONG_WAY.map(([file, code, expected], index) => [title(file, code), expected, index] as const))('%s is refused', (_title, expected, index) => {
    const messages = wrongWayMessages[index];
    expect(messages).toContainEqual(expected);
    // nothing but the direction rule speaks, so the case tests the rule and nothing else
    expect(messages?.filter(({ ruleId }) => ruleId === null || !DIRECTION_RULES.has(ruleId))).toEqual([]);
  });

  test.each(RIGHT_WAY.map(([file, code], index) => [title(file, code), index] as const))('%s is allowed', (_title, index) => {
    expect(rightWayMessages[index]).toEqual([]);
  });

  test('a file deeper than the generated blocks is refused rather than checked by the wrong depth', () => {
    expect(deepFileMessages).toEqual([
      { ruleId: 'no-restricted-syntax', message: 'Too deep for the dependency-direction rule: raise MAX_DEPTH in eslint.config.mjs.' },
    ]);
  });
  test('no symbolic link inside packages/ (a link to src/ would pass as a path inside the package)', () => {
    const links: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === 'node_modules') continue;
        const full = path.join(dir, entry.name);
        if (entry.isSymbolicLink()) links.push(path.relative(ROOT, full));
        else if (entry.isDirectory()) walk(full);
      }
    };
    walk(path.join(ROOT, 'packages'));
    expect(links).toEqual([]);
  });
});
