// The app's one client and the session state the pages read.
import { browser } from '$app/environment';
import { goto } from '$app/navigation';
import { ApiClient, type ConnectionState, type Tokens } from './client/client';
import manifest from './gql/persisted-documents.json';
import { Me, Logout } from './operations';
import type { UserFieldsFragment } from './gql/graphql';

const KEY = 'autovideo.tokens';

const storage = {
  load(): Tokens | null {
    if (!browser) return null;
    try {
      return JSON.parse(localStorage.getItem(KEY) ?? 'null') as Tokens | null;
    } catch {
      return null;
    }
  },
  save(tokens: Tokens | null) {
    if (!browser) return;
    if (tokens) localStorage.setItem(KEY, JSON.stringify(tokens));
    else localStorage.removeItem(KEY);
  },
};

export const session = $state<{
  user: UserFieldsFragment | null;
  loaded: boolean;
  connection: ConnectionState;
  /** the session ended on its own (refresh refused): sign-in says so, then comes back */
  expired: boolean;
}>({
  user: null,
  loaded: false,
  connection: 'idle',
  expired: false,
});

function origin(): URL {
  return new URL(browser ? location.href : 'http://localhost/');
}

export const api = new ApiClient({
  httpUrl: new URL('/graphql', origin()).toString(),
  wsUrl: new URL('/graphql', origin()).toString().replace(/^http/, 'ws'),
  storage,
  manifest,
  lock:
    browser && navigator.locks
      ? (name, fn) => navigator.locks.request(name, fn) as ReturnType<typeof fn>
      : undefined,
  onConnectionState: (state) => {
    session.connection = state;
  },
  onSessionExpired: () => {
    // The layout sends the visitor to sign-in, with this page as the way back.
    session.expired = true;
    session.user = null;
  },
});

export async function loadMe(): Promise<void> {
  if (!api.signedIn) {
    session.user = null;
    session.loaded = true;
    return;
  }
  try {
    session.user = (await api.request(Me)).me ?? null;
  } catch {
    session.user = null;
  } finally {
    session.loaded = true;
  }
}

export function signedIn(pair: { accessToken: string; refreshToken: string; expiresIn: number; user?: UserFieldsFragment }) {
  api.signIn(pair);
  session.expired = false;
  if (pair.user) session.user = pair.user;
}

export async function signOut(): Promise<void> {
  try {
    await api.request(Logout, { refreshToken: api.refreshToken });
  } catch {
    // the session ends here whatever the server said
  }
  api.signOut();
  session.user = null;
  await goto('/signin');
}

export function can(permission: string): boolean {
  return !!session.user?.permissions.includes(permission as never);
}

/** Where to go after signing in: the page the user was sent away from, if it is ours. */
export function nextPath(url: URL): string {
  const next = url.searchParams.get('next') ?? '/library';
  return next.startsWith('/') && !next.startsWith('//') ? next : '/library';
}
