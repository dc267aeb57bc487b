// Writes schema.graphql from the server (`python -m runtime.cli schema`, i.e. `autovideo schema`).
// AUTOVIDEO_PYTHON names the interpreter (the Makefile passes the virtualenv's); default: the
// repository's .venv, else python3.
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(web, '..');
const venv = resolve(root, '.venv/bin/python');
const python = process.env.AUTOVIDEO_PYTHON || (existsSync(venv) ? venv : 'python3');
const sdl = execFileSync(python, ['-m', 'runtime.cli', 'schema'], { cwd: root, encoding: 'utf8' });
const target = resolve(web, 'schema.graphql');
if (!existsSync(target) || readFileSync(target, 'utf8') !== sdl) writeFileSync(target, sdl);
