import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations from the server's schema (`autovideo schema` → schema.graphql, written by
// scripts/schema.mjs). Every operation lives in src/lib/operations.ts; the persisted-document
// manifest (hash → document) is written next to the generated code.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['src/lib/operations.ts'],
  ignoreNoDocuments: false,
  generates: {
    'src/lib/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { mode: 'embedHashInDocument', hashAlgorithm: 'sha256' },
      },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', Date: 'string', Upload: 'File' },
      },
    },
  },
};
export default config;
