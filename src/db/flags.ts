/**
 * A yes-or-no column. Stored as the integers 0 and 1, which every engine compares alike and
 * better-sqlite3 can bind (it refuses JavaScript booleans).
 */
export type Flag = 0 | 1;

export function toFlag(value: boolean): Flag {
  return value ? 1 : 0;
}

export function isSet(flag: number): boolean {
  return flag === 1;
}
