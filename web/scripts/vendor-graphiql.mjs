// Copies GraphiQL's scripts and styles (the exact npm versions the server's GraphiQL page names,
// so its integrity hashes hold) into build/graphiql-assets/<package>@<version>/<file>: the
// server then serves GraphiQL without a CDN (runtime/studio.py).
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(resolve(web, 'package.json'));
const files = {
  react: ['umd/react.production.min.js'],
  'react-dom': ['umd/react-dom.production.min.js'],
  'js-cookie': ['dist/js.cookie.min.js'],
  graphiql: ['graphiql.min.css', 'graphiql.min.js'],
  '@graphiql/plugin-explorer': ['dist/style.css', 'dist/index.umd.js'],
};
for (const [pkg, names] of Object.entries(files)) {
  const dir = dirname(require.resolve(`${pkg}/package.json`));
  const { version } = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8'));
  for (const name of names) {
    const to = resolve(web, 'build/graphiql-assets', `${pkg}@${version}`, name);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(resolve(dir, name), to);
  }
}
