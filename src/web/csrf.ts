import { randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Protection of the pages' forms against cross-site request forgery: a random value in a cookie
 * (set with the first page a browser gets) and the same value in a hidden field of every form. A
 * form posted from another site carries the cookie but cannot know the value to put in the field.
 * It covers the sign-in form too, where no session exists yet.
 */
export const csrfCookie = 'berth_csrf';
export const csrfField = 'csrf';

const shape = /^[A-Za-z0-9_-]{32}$/;

export function newCsrfValue(): string {
  return randomBytes(24).toString('base64url');
}

/** The cookie's value if it has the right shape, else undefined (a new one is then set). */
export function csrfValueOf(cookie: string | undefined): string | undefined {
  return cookie !== undefined && shape.test(cookie) ? cookie : undefined;
}

/** Whether a posted form's field matches the browser's cookie. */
export function csrfMatches(cookie: string | undefined, field: string | undefined): boolean {
  const expected = csrfValueOf(cookie);
  if (expected === undefined || field === undefined || field.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(expected), Buffer.from(field));
}
