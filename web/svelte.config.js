import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
  preprocess: vitePreprocess(),
  kit: {
    // A single-page app: every path the server does not have a file for gets index.html.
    adapter: adapter({ fallback: 'index.html', strict: false }),
    // Bearer tokens only (no cookies): SvelteKit's form-origin check has nothing to protect.
    csrf: { trustedOrigins: [] },
  },
};
