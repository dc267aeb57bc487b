// A single-page app: no server rendering, every page drawn in the browser.
export const ssr = false;
export const prerender = false;
