// The Studio's GraphQL client: one place for tokens (refresh-token rotation), HTTP operations,
// websocket subscriptions (graphql-ws) and persisted-query hashes.
//
// - Every operation is sent with its persisted-query hash (Apollo APQ `extensions`) and the
//   document from the generated manifest, whose SHA-256 is that hash.
// - An operation answered UNAUTHENTICATED (or HTTP 401) while signed in refreshes the tokens
//   once and runs again; when the refresh fails, the session has ended (`onSessionExpired`).
// - Refreshes are single-flight (and, in browsers, serialised across tabs with a Web Lock):
//   presenting a spent refresh token twice would revoke the whole session family.
// - The websocket sends the access token in `connection_init`. Before the access token expires
//   it is refreshed and the socket re-opened with the new one; graphql-ws re-subscribes every
//   live subscription on the new socket. A subscription ended by UNAUTHENTICATED (the server
//   re-checks tokens while it runs) is refreshed and subscribed again.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createClient, type Client as WsClient } from 'graphql-ws';
import { ApiError, networkError, type GraphQLErrorLike } from './errors';

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  /** epoch milliseconds */
  expiresAt: number;
  /** the access token's lifetime in seconds, as the server said */
  lifetime: number;
}

export interface TokenStorage {
  load(): Tokens | null;
  save(tokens: Tokens | null): void;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting';

export interface Manifest {
  [hash: string]: string;
}

export interface ClientOptions {
  httpUrl: string;
  wsUrl: string;
  storage: TokenStorage;
  manifest: Manifest;
  fetch?: typeof fetch;
  webSocketImpl?: unknown;
  now?: () => number;
  onSessionExpired?: () => void;
  onConnectionState?: (state: ConnectionState) => void;
  /** serialises refreshes across tabs; navigator.locks in browsers */
  lock?: <T>(name: string, fn: () => Promise<T>) => Promise<T>;
  /** ws retry delay (ms) for attempt n */
  retryWait?: (attempt: number) => Promise<void>;
}

type Doc<R, V> = TypedDocumentNode<R, V> & { __meta__?: { hash?: string } };

interface Payload {
  query: string;
  operationName?: string;
  variables: Record<string, unknown>;
  extensions: { persistedQuery: { version: 1; sha256Hash: string } };
}

interface RawResult {
  data?: unknown;
  errors?: GraphQLErrorLike[];
}

const REFRESH = 'mutation RefreshToken';

/** Refresh this long before the access token expires: a fifth of its lifetime, at most a minute. */
export function refreshMargin(lifetimeSeconds: number): number {
  return Math.min(60_000, lifetimeSeconds * 200);
}

export class ApiClient {
  private tokens: Tokens | null;
  private refreshing: Promise<Tokens | null> | null = null;
  private ws: WsClient | null = null;
  private socket: { readyState: number; close(code: number, reason: string): void } | null = null;
  private restartWanted = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private state: ConnectionState = 'idle';
  private staleSocketToken = false;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;

  constructor(private readonly opts: ClientOptions) {
    this.fetchImpl = opts.fetch ?? ((...args) => fetch(...args));
    this.now = opts.now ?? Date.now;
    this.tokens = opts.storage.load();
    this.schedule();
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  get connectionState(): ConnectionState {
    return this.state;
  }

  /** The payload of an operation: the manifest's document and its hash. */
  payload<R, V>(doc: Doc<R, V>, variables?: V): Payload {
    const hash = doc.__meta__?.hash;
    const query = hash ? this.opts.manifest[hash] : undefined;
    if (!hash || !query) throw new Error('operation missing from the persisted-document manifest; run npm run codegen');
    const name = /(?:^|\}\s*)(?:query|mutation|subscription)\s+(\w+)/.exec(query);
    return {
      query,
      ...(name ? { operationName: name[1] } : {}),
      variables: (variables ?? {}) as Record<string, unknown>,
      extensions: { persistedQuery: { version: 1, sha256Hash: hash.replace(/^sha256:/, '') } },
    };
  }

  // --- tokens ---------------------------------------------------------------------------

  /** Keep the tokens of a sign-in (register, login, changePassword). */
  signIn(pair: { accessToken: string; refreshToken: string; expiresIn: number }): void {
    this.setTokens(this.toTokens(pair));
    this.restartSocket();
  }

  /** Forget the tokens (after logout, or when the session ended). */
  signOut(): void {
    this.setTokens(null);
    this.ws?.dispose();
    this.ws = null;
    this.socket = null;
    this.setState('idle');
  }

  get refreshToken(): string | null {
    return this.tokens?.refreshToken ?? null;
  }

  private toTokens(pair: { accessToken: string; refreshToken: string; expiresIn: number }): Tokens {
    return {
      accessToken: pair.accessToken,
      refreshToken: pair.refreshToken,
      expiresAt: this.now() + pair.expiresIn * 1000,
      lifetime: pair.expiresIn,
    };
  }

  private setTokens(tokens: Tokens | null): void {
    this.tokens = tokens;
    this.opts.storage.save(tokens);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (!this.tokens || typeof setTimeout === 'undefined') return;
    const wait = this.tokens.expiresAt - refreshMargin(this.tokens.lifetime) - this.now();
    this.timer = setTimeout(() => void this.refreshAndReconnect(), Math.max(0, wait));
  }

  private async refreshAndReconnect(): Promise<void> {
    const tokens = await this.refresh(this.tokens?.refreshToken);
    if (tokens) this.restartSocket();
  }

  /** A fresh token pair (rotation), single-flight. `spent` is the refresh token the caller saw:
   * when another caller (or tab) has rotated it already, its result is used instead. */
  refresh(spent: string | undefined = this.tokens?.refreshToken): Promise<Tokens | null> {
    if (this.refreshing) return this.refreshing;
    const run = async (): Promise<Tokens | null> => {
      const stored = this.opts.storage.load();
      if (stored && stored.refreshToken !== spent && stored.expiresAt - this.now() > 5_000) {
        this.tokens = stored; // another tab rotated it already
        this.schedule();
        return stored;
      }
      const current = stored?.refreshToken ?? this.tokens?.refreshToken;
      if (!current) return null;
      let result: RawResult;
      try {
        result = await this.post(
          { ...this.payloadByName(REFRESH), variables: { refreshToken: current } },
          null,
        );
      } catch {
        return this.tokens; // network: keep the session, try again later
      }
      const pair = (result.data as { refreshToken?: Tokens & { expiresIn: number } } | null)?.refreshToken;
      if (!pair) {
        this.expire();
        return null;
      }
      const tokens = this.toTokens(pair);
      this.setTokens(tokens);
      return tokens;
    };
    const lock = this.opts.lock ?? ((_: string, fn: () => Promise<Tokens | null>) => fn());
    this.refreshing = lock('autovideo-refresh', run).finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private payloadByName(prefix: string): Payload {
    for (const [hash, query] of Object.entries(this.opts.manifest)) {
      if (query.includes(prefix)) {
        return { query, variables: {}, extensions: { persistedQuery: { version: 1, sha256Hash: hash.replace(/^sha256:/, '') } } };
      }
    }
    throw new Error(`${prefix} missing from the manifest`);
  }

  private expire(): void {
    const had = this.tokens !== null;
    this.signOut();
    if (had) this.opts.onSessionExpired?.();
  }

  private async accessToken(): Promise<string | null> {
    if (!this.tokens) return null;
    if (this.tokens.expiresAt - this.now() < 2_000) {
      const fresh = await this.refresh(this.tokens.refreshToken);
      return fresh?.accessToken ?? null;
    }
    return this.tokens.accessToken;
  }

  // --- HTTP -----------------------------------------------------------------------------

  private async post(payload: Payload, token: string | null): Promise<RawResult & { status: number }> {
    let response: Response;
    try {
      response = await this.fetchImpl(this.opts.httpUrl, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify(payload),
      });
    } catch {
      throw networkError();
    }
    let body: RawResult;
    try {
      body = (await response.json()) as RawResult;
    } catch {
      throw response.status >= 500 || response.status === 0
        ? networkError()
        : new ApiError({ message: response.statusText, extensions: { code: 'BAD_REQUEST' } });
    }
    return { ...body, status: response.status };
  }

  /** Run a query or mutation; errors throw ApiError. UNAUTHENTICATED while signed in: one
   * refresh, one retry. */
  async request<R, V>(doc: Doc<R, V>, variables?: V): Promise<R> {
    const payload = this.payload(doc, variables);
    let token = await this.accessToken();
    let result = await this.post(payload, token);
    if (token && isUnauthenticated(result)) {
      const fresh = await this.refresh(this.tokens?.refreshToken);
      if (!fresh) throw new ApiError(firstError(result) ?? { message: 'signed out', extensions: { code: 'UNAUTHENTICATED' } });
      token = fresh.accessToken;
      result = await this.post(payload, token);
      if (isUnauthenticated(result)) this.expire();
    }
    if (result.errors?.length) throw new ApiError(result.errors[0], result.errors);
    if (result.data == null) throw new ApiError({ message: 'no data', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    return result.data as R;
  }

  // --- websocket ------------------------------------------------------------------------

  private wsClient(): WsClient {
    if (this.ws) return this.ws;
    let attempt = 0;
    this.ws = createClient({
      url: this.opts.wsUrl,
      webSocketImpl: this.opts.webSocketImpl,
      lazy: true,
      lazyCloseTimeout: 3_000,
      keepAlive: 10_000,
      retryAttempts: Number.POSITIVE_INFINITY,
      shouldRetry: () => true,
      retryWait:
        this.opts.retryWait ??
        (async (n) => {
          await new Promise((r) => setTimeout(r, Math.min(10_000, 500 * 2 ** n) * (0.5 + Math.random() / 2)));
        }),
      connectionParams: async () => {
        if (this.staleSocketToken && this.tokens) {
          this.staleSocketToken = false;
          await this.refresh(this.tokens.refreshToken);
        }
        const token = await this.accessToken();
        return token ? { authorization: `Bearer ${token}` } : {};
      },
      on: {
        connecting: () => this.setState(attempt > 0 ? 'reconnecting' : 'connecting'),
        opened: (socket) => {
          this.socket = socket as typeof this.socket;
          if (this.restartWanted) {
            this.restartWanted = false;
            this.restartSocket();
          }
        },
        connected: () => {
          attempt = 0;
          this.setState('connected');
        },
        closed: (event) => {
          this.socket = null;
          const code = (event as { code?: number } | undefined)?.code;
          if (code === 4403) this.staleSocketToken = true; // token refused: refresh on reconnect
          if (code !== 1000) {
            attempt += 1;
            this.setState('reconnecting');
          } else this.setState('idle');
        },
      },
    });
    return this.ws;
  }

  /** Re-open the socket so that `connection_init` carries the current token. */
  private restartSocket(): void {
    if (!this.ws) return;
    const socket = this.socket;
    if (socket && socket.readyState === 1) socket.close(4205, 'Client Restart');
    else this.restartWanted = true;
  }

  private setState(state: ConnectionState): void {
    if (state === this.state) return;
    this.state = state;
    this.opts.onConnectionState?.(state);
  }

  /** Subscribe; returns the function that ends it. `onComplete` runs when the server ended it. */
  subscribe<R, V>(
    doc: Doc<R, V>,
    variables: V,
    handlers: { next: (data: R) => void; error?: (e: ApiError) => void; complete?: () => void },
  ): () => void {
    const payload = this.payload(doc, variables);
    let stop: (() => void) | null = null;
    let ended = false;
    const start = () => {
      stop = this.wsClient().subscribe<R>(payload, {
        next: (result) => {
          const errors = result.errors as GraphQLErrorLike[] | undefined;
          if (errors?.length) return this.subscriptionError(errors, start, handlers, () => ended);
          if (result.data) handlers.next(result.data as R);
        },
        error: (err) => {
          if (Array.isArray(err)) return this.subscriptionError(err as GraphQLErrorLike[], start, handlers, () => ended);
          if (!ended) handlers.error?.(networkError());
        },
        complete: () => {
          if (!ended) handlers.complete?.();
        },
      });
    };
    start();
    return () => {
      ended = true;
      stop?.();
    };
  }

  private subscriptionError<R>(
    errors: GraphQLErrorLike[],
    restart: () => void,
    handlers: { error?: (e: ApiError) => void },
    isEnded: () => boolean,
  ): void {
    if (isEnded()) return;
    if (errors.some((e) => e.extensions?.code === 'UNAUTHENTICATED') && this.tokens) {
      void this.refresh(this.tokens.refreshToken).then((tokens) => {
        if (!tokens || isEnded()) return;
        this.restartSocket();
        restart();
      });
      return;
    }
    if (errors.some((e) => e.extensions?.code === 'SLOW_CONSUMER')) {
      restart();
      return;
    }
    handlers.error?.(new ApiError(errors[0], errors));
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.ws?.dispose();
    this.ws = null;
  }
}

function firstError(result: RawResult): GraphQLErrorLike | undefined {
  return result.errors?.[0];
}

function isUnauthenticated(result: RawResult & { status: number }): boolean {
  return result.status === 401 || !!result.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
}
