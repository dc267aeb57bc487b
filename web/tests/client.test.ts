import { describe, expect, it, vi } from 'vitest';
import { ApiClient, refreshMargin, type ConnectionState, type Tokens } from '../src/lib/client/client';
import { ApiError, describe as describeCode, fieldErrors } from '../src/lib/client/errors';
import manifest from '../src/lib/gql/persisted-documents.json';
import { Me, VideoDetail, VideoProgress } from '../src/lib/operations';

// --- helpers -----------------------------------------------------------------------------

function memoryStorage(initial: Tokens | null = null) {
  let value = initial;
  return {
    saved: [] as (Tokens | null)[],
    load: () => value,
    save(t: Tokens | null) {
      value = t;
      this.saved.push(t);
    },
  };
}

const ME = { me: { id: 'User:1', username: 'ada' } };
const unauthenticated = { data: null, errors: [{ message: 'The token is not valid.', extensions: { code: 'UNAUTHENTICATED' } }] };

interface Call {
  query: string;
  variables: Record<string, unknown>;
  extensions: { persistedQuery: { sha256Hash: string } };
  authorization?: string;
}

/** A fake /graphql: `answer` decides each response; every call is recorded. */
function fakeServer(answer: (call: Call, n: number) => unknown) {
  const calls: Call[] = [];
  const fetchImpl = vi.fn(async (_url: unknown, init?: RequestInit) => {
    const body = JSON.parse(String(init?.body)) as Call;
    const headers = (init?.headers ?? {}) as Record<string, string>;
    const call = { ...body, authorization: headers.authorization };
    calls.push(call);
    return new Response(JSON.stringify(answer(call, calls.length)), { headers: { 'content-type': 'application/json' } });
  });
  return { calls, fetch: fetchImpl as unknown as typeof fetch };
}

const isRefresh = (c: Call) => c.query.includes('mutation RefreshToken');

function tokens(access: string, refresh: string, expiresAt: number, lifetime = 900): Tokens {
  return { accessToken: access, refreshToken: refresh, expiresAt, lifetime };
}

// --- error mapping -----------------------------------------------------------------------

describe('error mapping', () => {
  it('gives every code a sentence; THROTTLED says when to retry', () => {
    const err = new ApiError({ message: 'slow down', extensions: { code: 'THROTTLED', retryAfter: 42 } });
    expect(err.message).toBe('Too many requests. Try again in 42 seconds.');
    expect(err.retryAt(1_000)?.getTime()).toBe(43_000);
    expect(describeCode('THROTTLED', 'x', { retryAfter: 150 })).toBe('Too many requests. Try again in 3 minutes.');
    expect(describeCode('UNAUTHENTICATED', 'x')).toMatch(/sign in again/);
    expect(describeCode('FORBIDDEN', 'x')).toMatch(/not allowed/);
    expect(describeCode('NOT_FOUND', 'x')).toMatch(/not found/i);
    expect(describeCode('BAD_USER_INPUT', 'The title is too long.')).toBe('The title is too long.');
    expect(describeCode('INTERNAL_SERVER_ERROR', 'Traceback…', { requestId: 'abc' })).toBe(
      'Something went wrong on our side (reference abc). Please try again.',
    );
    for (const code of ['SERVICE_UNAVAILABLE', 'QUERY_TOO_COMPLEX', 'PAYLOAD_TOO_LARGE', 'BAD_REQUEST', 'QUOTA_EXCEEDED',
      'PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_ALLOWED', 'NETWORK_ERROR', 'CONFLICT']) {
      expect(describeCode(code, 'server words')).not.toMatch(/Something went wrong/);
    }
  });

  it('puts field errors next to their field and keeps the rest general', () => {
    const err = new ApiError({ message: 'a', extensions: { code: 'BAD_USER_INPUT', field: 'targetDurationSeconds' } }, [
      { message: 'Between 10 and 600 seconds.', extensions: { code: 'BAD_USER_INPUT', field: 'targetDurationSeconds' } },
      { message: 'x', extensions: { code: 'THROTTLED', retryAfter: 5 } },
    ]);
    expect(fieldErrors(err)).toEqual({
      fields: { targetDurationSeconds: 'Between 10 and 600 seconds.' },
      general: 'Too many requests. Try again in 5 seconds.',
    });
  });
});

// --- HTTP, persisted queries, token refresh ---------------------------------------------

describe('requests', () => {
  it('sends the manifest document with its SHA-256 hash', async () => {
    const server = fakeServer(() => ({ data: ME }));
    const client = new ApiClient({ httpUrl: 'http://x/graphql', wsUrl: 'ws://x/graphql', storage: memoryStorage(), manifest, fetch: server.fetch });
    await client.request(Me);
    const [call] = server.calls;
    expect(`sha256:${call.extensions.persistedQuery.sha256Hash}` in manifest).toBe(true);
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(call.query));
    const hex = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
    expect(hex).toBe(call.extensions.persistedQuery.sha256Hash);
    expect(call.authorization).toBeUndefined();
    expect(client.payload(VideoDetail, { id: 'Video:1' }).operationName).toBe('VideoDetail'); // after its fragment
    client.dispose();
  });

  it('refreshes once on UNAUTHENTICATED and runs the operation again with the new token', async () => {
    const now = 1_000_000;
    const storage = memoryStorage(tokens('old-access', 'refresh-1', now + 600_000));
    const server = fakeServer((call) => {
      if (isRefresh(call)) {
        expect(call.variables).toEqual({ refreshToken: 'refresh-1' });
        return { data: { refreshToken: { accessToken: 'new-access', refreshToken: 'refresh-2', expiresIn: 900 } } };
      }
      return call.authorization === 'Bearer new-access' ? { data: ME } : unauthenticated;
    });
    const expired = vi.fn();
    const client = new ApiClient({ httpUrl: 'h', wsUrl: 'w', storage, manifest, fetch: server.fetch, now: () => now, onSessionExpired: expired });
    expect(await client.request(Me)).toEqual(ME);
    expect(server.calls.map((c) => (isRefresh(c) ? 'refresh' : c.authorization))).toEqual([
      'Bearer old-access',
      'refresh',
      'Bearer new-access',
    ]);
    expect(storage.load()).toEqual(tokens('new-access', 'refresh-2', now + 900_000));
    expect(expired).not.toHaveBeenCalled();
    client.dispose();
  });

  it('spends a refresh token once however many operations fail together', async () => {
    const storage = memoryStorage(tokens('old', 'r1', Date.now() + 600_000));
    const server = fakeServer((call) => {
      if (isRefresh(call)) return { data: { refreshToken: { accessToken: 'new', refreshToken: 'r2', expiresIn: 900 } } };
      return call.authorization === 'Bearer new' ? { data: ME } : unauthenticated;
    });
    const client = new ApiClient({ httpUrl: 'h', wsUrl: 'w', storage, manifest, fetch: server.fetch });
    await Promise.all([client.request(Me), client.request(Me), client.request(Me)]);
    expect(server.calls.filter(isRefresh)).toHaveLength(1);
    client.dispose();
  });

  it('uses the pair another tab rotated instead of spending the old refresh token again', async () => {
    const storage = memoryStorage(tokens('old', 'r1', Date.now() + 600_000));
    const server = fakeServer((call) => (call.authorization === 'Bearer other-tab' ? { data: ME } : unauthenticated));
    const client = new ApiClient({ httpUrl: 'h', wsUrl: 'w', storage, manifest, fetch: server.fetch });
    storage.save(tokens('other-tab', 'r2', Date.now() + 900_000)); // the other tab's rotation
    expect(await client.request(Me)).toEqual(ME);
    expect(server.calls.filter(isRefresh)).toHaveLength(0);
    client.dispose();
  });

  it('ends the session when the refresh is refused: once, tokens forgotten', async () => {
    const storage = memoryStorage(tokens('old', 'spent', Date.now() + 600_000));
    const server = fakeServer(() => unauthenticated);
    const expired = vi.fn();
    const client = new ApiClient({ httpUrl: 'h', wsUrl: 'w', storage, manifest, fetch: server.fetch, onSessionExpired: expired });
    await expect(client.request(Me)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(expired).toHaveBeenCalledTimes(1);
    expect(storage.load()).toBeNull();
    expect(server.calls).toHaveLength(2); // the operation and one refresh; no retry loop
    client.dispose();
  });

  it('refreshes before sending when the access token has expired', async () => {
    let now = 5_000_000;
    const storage = memoryStorage(tokens('a1', 'r1', now + 15_000, 15));
    const server = fakeServer((call) =>
      isRefresh(call) ? { data: { refreshToken: { accessToken: 'a2', refreshToken: 'r2', expiresIn: 15 } } } : { data: ME },
    );
    const client = new ApiClient({ httpUrl: 'h', wsUrl: 'w', storage, manifest, fetch: server.fetch, now: () => now });
    now += 16_000;
    await client.request(Me);
    expect(server.calls.map((c) => (isRefresh(c) ? 'refresh' : c.authorization))).toEqual(['refresh', 'Bearer a2']);
    expect(refreshMargin(15)).toBe(3_000);
    expect(refreshMargin(900)).toBe(60_000);
    client.dispose();
  });

  it('maps network failures and throttling to ApiError', async () => {
    const down = vi.fn(async () => {
      throw new TypeError('fetch failed');
    }) as unknown as typeof fetch;
    const client = new ApiClient({ httpUrl: 'h', wsUrl: 'w', storage: memoryStorage(), manifest, fetch: down });
    await expect(client.request(Me)).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    const throttled = fakeServer(() => ({ data: null, errors: [{ message: 'x', extensions: { code: 'THROTTLED', retryAfter: 7 } }] }));
    const c2 = new ApiClient({ httpUrl: 'h', wsUrl: 'w', storage: memoryStorage(), manifest, fetch: throttled.fetch });
    await expect(c2.request(Me)).rejects.toMatchObject({ code: 'THROTTLED', retryAfter: 7, message: 'Too many requests. Try again in 7 seconds.' });
  });
});

// --- websocket: token in connection_init, reconnect, refreshed token ----------------------

type Sent = { type: string; id?: string; payload?: Record<string, unknown> };

/** A graphql-transport-ws server in memory: acks every connection_init, records messages. */
class FakeSocket {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;
  static sockets: FakeSocket[] = [];
  readyState = 0;
  protocol = 'graphql-transport-ws';
  sent: Sent[] = [];
  onopen: ((e: unknown) => void) | null = null;
  onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.sockets.push(this);
    queueMicrotask(() => {
      this.readyState = 1;
      this.onopen?.({});
    });
  }

  send(data: string) {
    const msg = JSON.parse(data) as Sent;
    this.sent.push(msg);
    if (msg.type === 'connection_init') queueMicrotask(() => this.push({ type: 'connection_ack' }));
  }

  push(msg: unknown) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code, reason, wasClean: code === 1000 }));
  }

  /** The network drops the connection (no close frame). */
  drop() {
    this.close(1006, '');
  }

  get auth(): unknown {
    return this.sent.find((m) => m.type === 'connection_init')?.payload?.authorization;
  }

  get subscribes(): Sent[] {
    return this.sent.filter((m) => m.type === 'subscribe');
  }
}

const settle = async (n = 20) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

function wsClient(storage: ReturnType<typeof memoryStorage>, server: ReturnType<typeof fakeServer>, states: ConnectionState[]) {
  FakeSocket.sockets = [];
  return new ApiClient({
    httpUrl: 'h',
    wsUrl: 'ws://x/graphql',
    storage,
    manifest,
    fetch: server.fetch,
    webSocketImpl: FakeSocket,
    retryWait: async () => {},
    onConnectionState: (s) => states.push(s),
  });
}

const refreshing = () =>
  fakeServer((call, n) =>
    isRefresh(call) ? { data: { refreshToken: { accessToken: `a${n + 1}`, refreshToken: `r${n + 1}`, expiresIn: 900 } } } : { data: ME },
  );

describe('subscriptions', () => {
  it('sends the token in connection_init, shows reconnecting, and resubscribes after a drop', async () => {
    const states: ConnectionState[] = [];
    const client = wsClient(memoryStorage(tokens('a1', 'r1', Date.now() + 600_000)), refreshing(), states);
    const events: unknown[] = [];
    client.subscribe(VideoProgress, { videoId: 'Video:1' }, { next: (d) => events.push(d) });
    await settle();
    const [first] = FakeSocket.sockets;
    expect(first.auth).toBe('Bearer a1');
    const sub = first.subscribes[0];
    expect(sub.payload?.variables).toEqual({ videoId: 'Video:1' });
    expect(sub.payload?.extensions).toMatchObject({ persistedQuery: { version: 1 } });
    first.push({ type: 'next', id: sub.id, payload: { data: { videoProgress: { status: 'PROCESSING' } } } });
    expect(events).toHaveLength(1);

    first.drop();
    await settle();
    expect(states).toContain('reconnecting');
    expect(FakeSocket.sockets).toHaveLength(2);
    const second = FakeSocket.sockets[1];
    expect(second.auth).toBe('Bearer a1');
    expect(second.subscribes).toHaveLength(1); // the same subscription, re-sent on the new socket
    expect(client.connectionState).toBe('connected');
    second.push({ type: 'next', id: second.subscribes[0].id, payload: { data: { videoProgress: { status: 'COMPLETED' } } } });
    expect(events).toHaveLength(2);
    client.dispose();
  });

  it('re-opens the socket with the refreshed token after a rotation, keeping the subscription', async () => {
    const states: ConnectionState[] = [];
    const storage = memoryStorage(tokens('a1', 'r1', Date.now() + 600_000));
    const client = wsClient(storage, refreshing(), states);
    client.subscribe(VideoProgress, { videoId: 'Video:1' }, { next: () => {} });
    await settle();
    await client.refresh();
    await settle();
    // the refresh timer's path: rotate, then restart the socket
    await (client as unknown as { refreshAndReconnect(): Promise<void> }).refreshAndReconnect();
    await settle();
    const last = FakeSocket.sockets.at(-1)!;
    expect(last.auth).toBe(`Bearer ${storage.load()!.accessToken}`);
    expect(last.auth).not.toBe('Bearer a1');
    expect(last.subscribes).toHaveLength(1);
    client.dispose();
  });

  it('refreshes and subscribes again when the server ends a subscription UNAUTHENTICATED', async () => {
    const storage = memoryStorage(tokens('a1', 'r1', Date.now() + 600_000));
    const server = refreshing();
    const client = wsClient(storage, server, []);
    const errors: unknown[] = [];
    client.subscribe(VideoProgress, { videoId: 'Video:1' }, { next: () => {}, error: (e) => errors.push(e) });
    await settle();
    const first = FakeSocket.sockets[0];
    first.push({ type: 'error', id: first.subscribes[0].id, payload: [{ message: 'expired', extensions: { code: 'UNAUTHENTICATED' } }] });
    await settle();
    expect(server.calls.filter(isRefresh)).toHaveLength(1);
    const last = FakeSocket.sockets.at(-1)!;
    expect(last.auth).toBe(`Bearer ${storage.load()!.accessToken}`);
    expect(last.subscribes.length).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
    client.dispose();
  });

  it('refreshes the token before reconnecting when the server refused it (4403)', async () => {
    const storage = memoryStorage(tokens('a1', 'r1', Date.now() + 600_000));
    const server = refreshing();
    const client = wsClient(storage, server, []);
    client.subscribe(VideoProgress, { videoId: 'Video:1' }, { next: () => {} });
    await settle();
    FakeSocket.sockets[0].close(4403, 'Forbidden');
    await settle();
    expect(server.calls.filter(isRefresh)).toHaveLength(1);
    expect(FakeSocket.sockets.at(-1)!.auth).toBe(`Bearer ${storage.load()!.accessToken}`);
    client.dispose();
  });
});
