import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// ---------------------------------------------------------------------------------------------
// Dependency direction (DESIGN.md, Architecture; issue 15 item 5):
//   - packages/* import nothing of onceql's src/ or test/, and another package only by its
//     @onceql/... name, never by a relative path;
//   - examples/adopt/ (the adoption example: another team's server) is held to the same as a package;
//   - src/ledger/ imports no GraphQL (graphql, type-graphql, @apollo/*, graphql-*, @graphql-*) and
//     nothing from src/graphql, src/http or src/admit.
// Static imports and `export ... from` go through @typescript-eslint/no-restricted-imports (core
// no-restricted-imports plus `import x = require()`); require(), import(), require.resolve() and
// jest.mock()-style calls through no-restricted-syntax with the same patterns. A relative path is
// judged by how many `../` it starts with, so each folder depth gets its own block: a file
// `depth` folders below its package's root leaves the package with `depth + 1` of them. A path
// that is not normalized (`../src/../../x`, `./../x`, `a//b`) is refused outright, since counting
// its `../` would not say where it goes, and so is a module named by anything but a string
// literal. test/unit/lint-direction.test.ts tries each way around it.
// ---------------------------------------------------------------------------------------------

/** Deepest folder level below a package's (or src/ledger's) root that has its own block. */
const MAX_DEPTH = 12;
const SOURCE_FILES = '{ts,tsx,mts,cts,js,jsx,mjs,cjs}';

const MESSAGE_PACKAGE_ESCAPE =
  "A package imports nothing outside itself by path: never onceql's src/ or test/, and another package only by its @onceql/... name (DESIGN.md, Architecture).";
const MESSAGE_PACKAGE_ALIAS =
  "A package imports nothing of onceql's src/ or test/, by any name (DESIGN.md, Architecture).";
const MESSAGE_ADOPT_ESCAPE =
  "The adoption example uses only the packages' public exports: nothing outside examples/adopt/ by path, never onceql's src/ or test/, the packages by their @onceql/... names (issue 15).";
const MESSAGE_NOT_NORMALIZED =
  "Write a module path normalized (no '.', '..' or empty segment after its leading '../'s): a detour hides where the import goes.";
const MESSAGE_LEDGER_GRAPHQL =
  'src/ledger/ knows nothing of GraphQL: no graphql, type-graphql, @apollo/* or graphql-* import, nothing from src/graphql, src/http or src/admit (DESIGN.md, Architecture).';
const MESSAGE_PACKAGE_BY_NAME =
  'Import a package by its @onceql/... name, not by a path into packages/ (DESIGN.md, Architecture).';
const MESSAGE_PACKAGE_INTERNALS =
  "Import a package by its @onceql/... name and its public exports, not its src/, dist/, lua/ or test/ files.";
const MESSAGE_STATIC_NAME =
  'Name a module with a string literal here, so the dependency-direction rule can check where it goes.';

/** `depth` times `../`, as a regular expression. */
const upwards = (depth) => (depth === 0 ? '' : `(?:\\.\\./){${depth}}`);

const NOT_NORMALIZED = [
  // a segment other than `..` (a name, `.` or empty) followed by `..`: `../src/../../x`, `./../x`
  '(?:^|/)(?!\\.\\.(?:/|$))[^/]*/\\.\\.(?:/|$)',
  // a `.` segment after the first, or an empty segment, or a backslash
  '.(?:/\\.(?:/|$))',
  '//',
  '\\\\',
].join('|');

/** Patterns that hold everywhere: a package by its name, never by its files. */
const EVERYWHERE = [
  { regex: '^@onceql/[^/]+/(?:src|dist|lua|test)(?:/|$)', message: MESSAGE_PACKAGE_INTERNALS },
];

/**
 * A file `depth` folders below the root of its package (packages/<name>/), or of the adoption
 * example (examples/adopt/), which stands for another team's server and so is held to the same.
 */
function packagePatterns(depth, escapeMessage = MESSAGE_PACKAGE_ESCAPE) {
  return [
    { regex: `^${upwards(depth)}\\.\\.(?:/|$)`, message: escapeMessage },
    { regex: NOT_NORMALIZED, message: MESSAGE_NOT_NORMALIZED },
    // absolute paths, file: URLs, the app's own name and folder names used as if they were aliases
    { regex: '^(?:/|[A-Za-z]:|file:|onceql(?:/|$)|src(?:/|$)|test(?:/|$)|~/|@/)', message: MESSAGE_PACKAGE_ALIAS },
    ...EVERYWHERE,
  ];
}

/** Outside packages/: a package by its name, never by a relative path into packages/. */
const OUTSIDE_PACKAGES = [
  { regex: '^(?:\\.\\.?/)+(?:[^/]+/)*packages/', message: MESSAGE_PACKAGE_BY_NAME },
  ...EVERYWHERE,
];

const GRAPHQL_MODULES = '^(?:graphql|type-graphql|graphql-[^/]+|@apollo/[^/]+|@graphql-[^/]+/[^/]+)(?:/|$)';
const GRAPHQL_FOLDERS = '(?:graphql|http|admit)(?:/|$)';

/** A file `depth` folders below src/ledger/. */
function ledgerPatterns(depth) {
  return [
    { regex: GRAPHQL_MODULES, message: MESSAGE_LEDGER_GRAPHQL },
    // ../graphql from src/ledger/x.ts; ../../src/graphql from the same file (up to the root and back)
    { regex: `^${upwards(depth + 1)}${GRAPHQL_FOLDERS}`, message: MESSAGE_LEDGER_GRAPHQL },
    { regex: `^${upwards(depth + 2)}src/${GRAPHQL_FOLDERS}`, message: MESSAGE_LEDGER_GRAPHQL },
    { regex: NOT_NORMALIZED, message: MESSAGE_NOT_NORMALIZED },
    ...OUTSIDE_PACKAGES,
  ];
}

const DEFAULT_EXPORT = { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' };

/** Calls that load a module by the name in their first argument. */
const LOADERS = [
  "CallExpression[callee.type='Identifier'][callee.name='require']",
  "CallExpression[callee.type='MemberExpression'][callee.property.name='require']",
  "CallExpression[callee.object.name='require'][callee.property.name='resolve']",
  "CallExpression[callee.object.name='jest'][callee.property.name=/^(?:mock|doMock|unmock|dontMock|setMock|requireActual|requireMock|createMockFromModule)$/]",
];

/**
 * The same patterns for require(), import(), require.resolve() and jest.mock()-like calls, which
 * no-restricted-imports does not see. `strictNames` also refuses a module named by anything but
 * a string literal (the check could not see where it goes).
 */
function loaderSelectors(patterns, { strictNames }) {
  const selectors = [];
  for (const { regex, message } of patterns) {
    const literal = `/${regex.replace(/\//g, '\\/')}/i`;
    selectors.push({ selector: `ImportExpression > Literal.source[value=${literal}]`, message });
    selectors.push({ selector: `TSImportType > Literal.source[value=${literal}]`, message });
    for (const loader of LOADERS) {
      selectors.push({ selector: `${loader} > Literal.arguments:first-child[value=${literal}]`, message });
    }
  }
  if (strictNames) {
    selectors.push({ selector: "ImportExpression[source.type!='Literal']", message: MESSAGE_STATIC_NAME });
    for (const loader of LOADERS) {
      selectors.push({ selector: `${loader}[arguments.0.type!='Literal']`, message: MESSAGE_STATIC_NAME });
    }
    selectors.push({ selector: "CallExpression[callee.name='createRequire']", message: MESSAGE_STATIC_NAME });
  }
  return selectors;
}

function directionRules(patterns, { strictNames = false, defaultExportAllowed = false } = {}) {
  return {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      { patterns: patterns.map(({ regex, message }) => ({ regex, message })) },
    ],
    'no-restricted-syntax': [
      'error',
      ...(defaultExportAllowed ? [] : [DEFAULT_EXPORT]),
      ...loaderSelectors(patterns, { strictNames }),
    ],
  };
}

/** The restrictions for one file, from its path relative to the repository's root. */
function restrictionsFor(relativePath) {
  const segments = relativePath.split('/');
  if (segments[0] === 'packages') {
    return { patterns: packagePatterns(segments.length - 3), strictNames: true };
  }
  if (segments[0] === 'examples' && segments[1] === 'adopt') {
    return { patterns: packagePatterns(segments.length - 3, MESSAGE_ADOPT_ESCAPE), strictNames: true };
  }
  if (segments[0] === 'src' && segments[1] === 'ledger') {
    return { patterns: ledgerPatterns(segments.length - 3), strictNames: true };
  }
  return { patterns: OUTSIDE_PACKAGES, strictNames: false };
}

// jest loads these through their default export; the Vite configs export theirs too.
const DEFAULT_EXPORT_FILES = [
  'test/helpers/global-setup.ts',
  'test/helpers/global-teardown.ts',
  'eslint.config.mjs',
  'examples/web/vite.config.mts',
  'packages/graphiql/vite.config.mts',
];

const directionBlocks = [
  { rules: directionRules(OUTSIDE_PACKAGES) },
  ...Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => ({
    files: [`packages/*/${'*/'.repeat(depth)}*.${SOURCE_FILES}`],
    rules: directionRules(packagePatterns(depth), { strictNames: true }),
  })),
  ...Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => ({
    files: [`examples/adopt/${'*/'.repeat(depth)}*.${SOURCE_FILES}`],
    rules: directionRules(packagePatterns(depth, MESSAGE_ADOPT_ESCAPE), { strictNames: true }),
  })),
  ...Array.from({ length: MAX_DEPTH + 1 }, (_, depth) => ({
    files: [`src/ledger/${'*/'.repeat(depth)}*.${SOURCE_FILES}`],
    rules: directionRules(ledgerPatterns(depth), { strictNames: true }),
  })),
  {
    // deeper than the blocks above: refuse the file itself rather than check it by the wrong depth
    files: [`{packages/*,src/ledger,examples/adopt}/${'*/'.repeat(MAX_DEPTH + 1)}**/*.${SOURCE_FILES}`],
    rules: { 'no-restricted-syntax': ['error', { selector: 'Program', message: `Too deep for the dependency-direction rule: raise MAX_DEPTH in eslint.config.mjs.` }] },
  },
  ...DEFAULT_EXPORT_FILES.map((file) => {
    const { patterns, strictNames } = restrictionsFor(file);
    return {
      files: [file],
      rules: { ...directionRules(patterns, { strictNames, defaultExportAllowed: true }), 'no-var': 'off' },
    };
  }),
];

export default tseslint.config(
  { ignores: ['**/dist/', 'node_modules/', 'test/generated/', 'examples/web/src/gql/', '.data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Decorated parameters need their classes at run time (type-graphql reads design:paramtypes).
    languageOptions: { parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  ...directionBlocks,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { module: 'writable', require: 'readonly', process: 'readonly', console: 'readonly', __dirname: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
