import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

// `npm run dev` proxies the API to a running `autovideo serve` (AUTOVIDEO_API, default :8000).
const api = process.env.AUTOVIDEO_API ?? 'http://127.0.0.1:8000';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      '/graphql': { target: api, ws: true, changeOrigin: true },
      '/media': { target: api, changeOrigin: true },
      '/graphiql-assets': { target: api, changeOrigin: true },
    },
  },
  test: { include: ['tests/**/*.test.ts'], environment: 'node' },
});
