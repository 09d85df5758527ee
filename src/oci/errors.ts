/**
 * The OCI Distribution error codes (spec section "Error Codes"), and only those, since clients
 * must understand every code they receive, with their default messages. Services throw
 * `RegistryError`s; the HTTP edge (`src/http/registry-status.ts`) decides the status each is
 * answered with and renders the spec's envelope `{"errors":[{"code","message","detail"}]}`.
 */
export const errorCodes = {
  BLOB_UNKNOWN: { message: 'blob unknown to registry' },
  BLOB_UPLOAD_INVALID: { message: 'blob upload invalid' },
  BLOB_UPLOAD_UNKNOWN: { message: 'blob upload unknown to registry' },
  DIGEST_INVALID: { message: 'provided digest did not match uploaded content' },
  MANIFEST_BLOB_UNKNOWN: { message: 'manifest references a manifest or blob unknown to registry' },
  MANIFEST_INVALID: { message: 'manifest invalid' },
  MANIFEST_UNKNOWN: { message: 'manifest unknown to registry' },
  NAME_INVALID: { message: 'invalid repository name' },
  NAME_UNKNOWN: { message: 'repository name not known to registry' },
  SIZE_INVALID: { message: 'provided length did not match content length' },
  UNAUTHORIZED: { message: 'authentication required' },
  DENIED: { message: 'requested access to the resource is denied' },
  /** Also the spec's answer to "an invalid set of parameters" (a bad `n`, an unsatisfiable range). */
  UNSUPPORTED: { message: 'the operation is unsupported' },
  TOOMANYREQUESTS: { message: 'too many requests' },
} as const;

/**
 * What sets an error apart from others of its code, where the answer differs: a blob or body over
 * a limit, a malformed parameter, a request no endpoint or method serves, a range that cannot be
 * satisfied, a body that stopped arriving.
 */
export type ErrorCondition = 'too-large' | 'bad-parameter' | 'no-endpoint' | 'method-not-allowed' | 'range-not-satisfiable' | 'timed-out';

export type ErrorCode = keyof typeof errorCodes;

export class RegistryError extends Error {
  readonly code: ErrorCode;
  readonly condition: ErrorCondition | undefined;
  readonly detail: unknown;
  /** Extra response headers the error needs (a `Range` on 416, a challenge on 401). */
  readonly headers: Record<string, string>;

  constructor(
    code: ErrorCode,
    message?: string,
    options: { detail?: unknown; condition?: ErrorCondition; headers?: Record<string, string> } = {},
  ) {
    // An answer to the client, not a fault: where it was made tells nobody anything, and capturing
    // the stack is a noticeable part of a 404 for a blob (clients ask for many that are absent).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message ?? errorCodes[code].message);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'RegistryError';
    this.code = code;
    this.condition = options.condition;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  toBody(): { errors: Array<{ code: ErrorCode; message: string; detail?: unknown }> } {
    const entry: { code: ErrorCode; message: string; detail?: unknown } = { code: this.code, message: this.message };
    if (this.detail !== undefined) entry.detail = this.detail;
    return { errors: [entry] };
  }
}
