// Allow-lists every operation of the Studio (src/lib/gql/persisted-documents.json) on a server
// that runs with AUTOVIDEO_PERSISTED_QUERIES_ONLY=true.
// usage: node scripts/allowlist.mjs http://127.0.0.1:8000 <a super admin's access token>
import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: node scripts/allowlist.mjs <server URL> <super admin access token>');
  process.exit(2);
}
const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(resolve(web, 'src/lib/gql/persisted-documents.json'), 'utf8'));
const MUTATION = 'mutation($d: String!, $n: String) { allowlistPersistedQuery(document: $d, operationName: $n) }';
let failed = 0;
for (const [hash, document] of Object.entries(manifest)) {
  const name = /(?:^|\}\s*)(?:query|mutation|subscription)\s+(\w+)/.exec(document)?.[1] ?? null;
  const response = await fetch(new URL('/graphql', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: MUTATION, variables: { d: document, n: name } }),
  });
  const body = await response.json();
  const stored = body.data?.allowlistPersistedQuery;
  if (`sha256:${stored}` !== hash) {
    failed += 1;
    console.error(`${name}: ${JSON.stringify(body.errors ?? body)}`);
  }
}
console.log(`${Object.keys(manifest).length - failed} of ${Object.keys(manifest).length} operations allow-listed`);
process.exit(failed ? 1 : 0);
