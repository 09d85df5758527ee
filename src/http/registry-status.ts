import type { ErrorCode, ErrorCondition, RegistryError } from '../oci/errors.js';

/** The status of each OCI error code, as the Distribution spec's error table gives it. */
const statusOfCode: Record<ErrorCode, number> = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
};

/** Conditions answered with their own status, whatever their code. */
const statusOfCondition: Record<ErrorCondition, number> = {
  'too-large': 413,
  'bad-parameter': 400,
  'no-endpoint': 404,
  'method-not-allowed': 405,
  'range-not-satisfiable': 416,
  'timed-out': 408,
};

/** The HTTP status a registry error is answered with: the one mapping of errors to statuses. */
export function statusOf(error: RegistryError): number {
  return error.condition === undefined ? statusOfCode[error.code] : statusOfCondition[error.condition];
}
