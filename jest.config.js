/** Tests run against a real PostgreSQL: a fresh embedded cluster per run (or TEST_DATABASE_URL). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.[tj]s$": ["ts-jest", { tsconfig: "tsconfig.jest.json" }] },
  // graphile-worker and grafserv's import("ws") are ESM: jest must transform them.
  transformIgnorePatterns: ["/node_modules/(?!(graphile-worker|grafserv)/)"],
  setupFiles: ["<rootDir>/src/runtime.ts"],
  globalSetup: "<rootDir>/test/helpers/globalSetup.ts",
  globalTeardown: "<rootDir>/test/helpers/globalTeardown.ts",
  testTimeout: 60000,
  maxWorkers: 2,
};
