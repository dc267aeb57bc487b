// Every GraphQL error code the API answers, as a sentence a person understands.

export interface GraphQLErrorLike {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; field?: string; retryAfter?: number; requestId?: string; [k: string]: unknown };
}

export class ApiError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly retryAfter?: number;
  readonly requestId?: string;
  readonly serverMessage: string;

  constructor(error: GraphQLErrorLike, readonly errors: readonly GraphQLErrorLike[] = [error]) {
    const ext = error.extensions ?? {};
    const code = typeof ext.code === 'string' ? ext.code : 'INTERNAL_SERVER_ERROR';
    super(describe(code, error.message, ext));
    this.name = 'ApiError';
    this.code = code;
    this.serverMessage = error.message;
    if (typeof ext.field === 'string') this.field = ext.field;
    if (typeof ext.retryAfter === 'number') this.retryAfter = ext.retryAfter;
    if (typeof ext.requestId === 'string') this.requestId = ext.requestId;
  }

  /** When a THROTTLED operation may be tried again. */
  retryAt(now: number = Date.now()): Date | undefined {
    return this.retryAfter === undefined ? undefined : new Date(now + this.retryAfter * 1000);
  }
}

export function networkError(): ApiError {
  return new ApiError({ message: 'network', extensions: { code: 'NETWORK_ERROR' } });
}

export function seconds(n: number): string {
  const s = Math.max(1, Math.ceil(n));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}

/** The message shown for an error code. Codes whose server message is written for people
 * (input validation, conflicts, quota) keep it. */
export function describe(code: string, serverMessage: string, ext: GraphQLErrorLike['extensions'] = {}): string {
  switch (code) {
    case 'BAD_USER_INPUT':
    case 'CONFLICT':
      return serverMessage;
    case 'UNAUTHENTICATED':
      return 'Your session has ended. Please sign in again.';
    case 'FORBIDDEN':
      return 'Your account is not allowed to do this.';
    case 'NOT_FOUND':
      return 'This was not found. It may have been deleted.';
    case 'THROTTLED': {
      const after = typeof ext?.retryAfter === 'number' ? ext.retryAfter : undefined;
      return after === undefined
        ? 'Too many requests. Please wait a moment and try again.'
        : `Too many requests. Try again in ${seconds(after)}.`;
    }
    case 'QUOTA_EXCEEDED':
      return `You have used up your quota: ${serverMessage}`;
    case 'SERVICE_UNAVAILABLE':
      return 'The service is briefly unavailable. Please try again in a few seconds.';
    case 'QUERY_TOO_COMPLEX':
      return 'This request is too large for the server.';
    case 'PAYLOAD_TOO_LARGE':
      return 'This is too large to send (the file or text is over the limit).';
    case 'BAD_REQUEST':
    case 'GRAPHQL_PARSE_FAILED':
    case 'GRAPHQL_VALIDATION_FAILED':
    case 'METHOD_NOT_ALLOWED':
      return 'The app sent a request the server does not understand. Reload the page to update the app.';
    case 'PERSISTED_QUERY_NOT_FOUND':
    case 'PERSISTED_QUERY_NOT_ALLOWED':
      return 'The server does not know this version of the app. Reload the page.';
    case 'SLOW_CONSUMER':
      return 'Live updates fell behind and were restarted.';
    case 'NETWORK_ERROR':
      return 'Cannot reach the server. Check your connection and try again.';
    case 'INTERNAL_SERVER_ERROR':
    default: {
      const id = typeof ext?.requestId === 'string' ? ` (reference ${ext.requestId})` : '';
      return `Something went wrong on our side${id}. Please try again.`;
    }
  }
}

/** Field name → message, for forms: errors with `extensions.field` go next to their input. */
export function fieldErrors(error: unknown): { fields: Record<string, string>; general?: string } {
  if (!(error instanceof ApiError)) return { fields: {}, general: error instanceof Error ? error.message : String(error) };
  const fields: Record<string, string> = {};
  let general: string | undefined;
  for (const e of error.errors) {
    const field = e.extensions?.field;
    if (typeof field === 'string') {
      const name = field.split('.').pop() ?? field;
      fields[name] = e.message;
    } else general ??= new ApiError(e).message;
  }
  return { fields, general };
}
