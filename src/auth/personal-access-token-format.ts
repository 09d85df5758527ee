import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import { crc32 } from 'node:zlib';

/**
 * The personal access token format: `berth_pat_` + 30 random base62 characters (about 178 bits)
 * + 6 base62 characters of the CRC32 of everything before them. The prefix lets people and secret
 * scanners recognise the token; the checksum lets a scanner tell a real token from noise offline.
 */
export const tokenPrefix = 'berth_pat_';
const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const randomLength = 30;
const checksumLength = 6;
const shape = new RegExp(`^${tokenPrefix}[0-9A-Za-z]{${randomLength + checksumLength}}$`);

export function generateToken(): string {
  let random = '';
  for (let i = 0; i < randomLength; i += 1) random += alphabet[randomInt(alphabet.length)];
  const body = tokenPrefix + random;
  return body + checksum(body);
}

/** Whether the text has the token's shape and a correct checksum (no database involved). */
export function isWellFormedToken(text: string): boolean {
  if (!shape.test(text)) return false;
  const body = text.slice(0, -checksumLength);
  return checksum(body) === text.slice(-checksumLength);
}

/** The stored form of a token: its sha256, hex. The token has enough entropy for a fast hash. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** What lists show of a token: the prefix and the first random characters. */
export function tokenHint(token: string): string {
  return token.slice(0, tokenPrefix.length + 4);
}

function checksum(body: string): string {
  let value = crc32(body);
  let out = '';
  for (let i = 0; i < checksumLength; i += 1) {
    out = alphabet[value % 62] + out;
    value = Math.floor(value / 62);
  }
  return out;
}
