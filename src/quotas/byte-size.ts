/** Thrown for a size that `parseByteSize` does not read. */
export class InvalidByteSizeError extends Error {
  constructor(text: string) {
    super(`invalid size "${text.slice(0, 40)}": use a whole number of bytes or a number with a unit, like 500MB or 10GiB`);
    this.name = 'InvalidByteSizeError';
  }
}

const units: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** `1073741824`, `10GiB`, `1.5 GB` (decimal and binary units, any case) as a whole number of bytes. */
export function parseByteSize(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = units[(match?.[2] || 'b').toLowerCase()];
  if (!match || unit === undefined) throw new InvalidByteSizeError(text);
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new InvalidByteSizeError(text);
  return bytes;
}

/** A size for people: `1.5 GiB`, `312 B`. */
export function formatByteSize(bytes: number): string {
  const names = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let index = 0;
  while (value >= 1024 && index < names.length - 1) {
    value /= 1024;
    index += 1;
  }
  return index === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${names[index]}`;
}
