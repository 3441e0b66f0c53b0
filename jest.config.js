/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/packages', '<rootDir>/examples'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/examples/web/'],
  // The server-side packages are tested and used from their sources (their dist is for npm).
  moduleNameMapper: {
    '^@onceql/(redis-script|idempotency|ratelimit)$': '<rootDir>/packages/$1/src/index.ts',
    '^@onceql/idempotency/type-graphql$': '<rootDir>/packages/idempotency/src/type-graphql.ts',
  },
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  setupFiles: ['reflect-metadata'],
  testTimeout: 30000,
};
