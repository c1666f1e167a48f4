/**
 * Every domain error code and its HTTP status: the one exhaustive table the exception filter uses.
 * Codes are part of the REST contract; never rename one.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  UNKNOWN_FIELD: 400,
  MALFORMED_JSON: 400,
  JSON_TOO_DEEP: 400,
  INVALID_SITE_NAME: 400,
  SITE_NAME_HIDDEN_BY_CONDOR: 400,
  INVALID_BASE64: 400,
  INVALID_KEY: 400,
  KEY_EMPTY: 400,
  INVALID_SCOPE: 400,
  SCOPE_TOO_WIDE: 400,
  INVALID_LIFETIME: 400,
  LIFETIME_EXCEEDS_POLICY: 400,
  INVALID_ROTATION_POLICY: 400,
  INVALID_GWMS_GROUPS: 400,
  INVALID_SUBJECT: 400,
  SUBJECT_NOT_REPRESENTABLE: 400,
  INVALID_ISSUER: 400,
  FACTORY_URL_INSECURE: 400,
  INVALID_ROLE: 400,
  INVALID_JTI: 400,
  INVALID_JWKS: 400,
  INVALID_SOURCE_PATH: 400,
  SOURCE_MISSING: 400,
  SOURCE_OUTSIDE: 400,
  SOURCE_NOT_A_FILE: 400,
  SOURCE_TOO_LARGE: 400,
  SOURCE_UNREADABLE: 400,
  XML_MALFORMED: 400,
  XML_DOCTYPE: 400,
  XML_NOT_GLIDEINWMS: 400,
  XML_DUPLICATE_ENTRY: 400,
  XML_TOO_MANY_ENTRIES: 400,
  ENVELOPE_MALFORMED: 400,
  ENVELOPE_BAD_MAC: 400,
  ENVELOPE_SCHEMA: 400,
  ENVELOPE_STALE: 400,
  ENVELOPE_BAD_KEY_PROOF: 400,
  ENVELOPE_KEY_RETIRED: 403,
  ENVELOPE_UNKNOWN_SENDER: 403,
  ENVELOPE_SENDER_MISMATCH: 403,
  ENVELOPE_REPLAYED: 409,
  SCITOKEN_MALFORMED: 400,
  SCITOKEN_BAD_ALG: 400,
  SCITOKEN_UNKNOWN_ISSUER: 400,
  SCITOKEN_BAD_SIGNATURE: 400,
  SCITOKEN_NO_EXPIRY: 400,
  SCITOKEN_EXPIRED: 400,
  SCITOKEN_NOT_YET_VALID: 400,
  SCITOKEN_UNKNOWN_PROFILE: 400,
  UNAUTHENTICATED: 401,
  TICKET_INVALID: 401,
  RENEWAL_INVALID: 401,
  RENEWAL_REVOKED: 401,
  DUPLICATE_AUTHORIZATION: 401,
  FORBIDDEN: 403,
  PILOT_LIFE_OVER: 403,
  TOKEN_BOOTSTRAPS_EXHAUSTED: 403,
  TOKEN_BOOTSTRAP_OFF: 403,
  ROLE_NOT_GRANTABLE: 403,
  NOT_FOUND: 404,
  SITE_NOT_FOUND: 404,
  TOKEN_NOT_FOUND: 404,
  API_KEY_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  SCITOKEN_NOT_FOUND: 404,
  CREDENTIAL_NO_MATCH: 404,
  FACTORY_NOT_FOUND: 404,
  ENTRY_NOT_FOUND: 404,
  FRONTEND_NOT_FOUND: 404,
  ISSUER_NOT_FOUND: 404,
  RENEWAL_NOT_FOUND: 404,
  BATCH_NOT_FOUND: 404,
  SITE_EXISTS: 409,
  API_KEY_EXISTS: 409,
  STALE_VERSION: 409,
  IMPORT_CONFLICT: 409,
  TOKEN_ALREADY_REVOKED: 409,
  SCITOKEN_OLDER: 409,
  PASSWORDS_DIR_CONFLICT: 409,
  KEY_FILE_FOREIGN: 409,
  FRONTEND_EXISTS: 409,
  FACTORY_EXISTS: 409,
  REVOCATION_LIMIT: 409,
  IDENTITY_TRANSITION_PENDING: 409,
  CONFLICT: 409,
  CREDENTIAL_WITHDRAWN: 410,
  PAYLOAD_TOO_LARGE: 413,
  URI_TOO_LONG: 414,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  FACTORY_UNREACHABLE: 502,
  FACTORY_BAD_RESPONSE: 502,
  CREDENTIAL_STALE: 503,
  COMMIT_UNCERTAIN: 503,
  STORAGE_UNAVAILABLE: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An expected failure with a stable code. Its message is shown to the caller: never put a secret in it. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

/** A refusal the caller may retry after a while (429, 503): the filter sends Retry-After. */
export class RetryLaterError extends DomainError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message);
  }
}

/**
 * The database or the disk refused a change (full, read-only, I/O error, locked past the timeout,
 * PostgreSQL unreachable): nothing was committed, and the caller may try again. The caller sees a
 * fixed message; `reason` (the driver's code and message, never a query or its parameters) is for the log.
 */
export class StorageUnavailableError extends RetryLaterError {
  constructor(
    readonly reason: string,
    retryAfterSeconds = 5,
    /** COMMIT_UNCERTAIN: the storage failed around COMMIT, so the write may or may not be on disk (check before retrying). */
    code: 'STORAGE_UNAVAILABLE' | 'COMMIT_UNCERTAIN' = 'STORAGE_UNAVAILABLE',
  ) {
    super(
      code,
      code === 'COMMIT_UNCERTAIN'
        ? 'storage failed while the change was committed: it may or may not have been made; check before retrying'
        : 'storage is unavailable; try again later',
      retryAfterSeconds,
    );
    this.name = 'StorageUnavailableError';
  }
}
