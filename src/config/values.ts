import { CommandLineError } from '../errors.js';

/**
 * Option values checked while the command line is parsed (yargs `coerce`), so that a bad value is
 * a usage error (exit 2) before any password is read or any server contacted.
 */

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };

/** Parses a duration in seconds: `300`, `2.5`, `300s`, `5m`, `1h`, `500ms`. Zero and negatives are refused. */
export function parseDuration(flag: string, raw: unknown): number {
  const text = String(Array.isArray(raw) ? raw[raw.length - 1] : raw).trim();
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h)?$/i.exec(text);
  const seconds = m ? Number(m[1]) * UNIT_SECONDS[(m[2] ?? 's').toLowerCase()]! : NaN;
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new CommandLineError(`--${flag} ${text}: not a duration (seconds, or a number with s, m, h or ms, e.g. 300, 90s, 5m)`);
  }
  return seconds;
}

/** Parses a whole number within [min, max]. */
export function parseInteger(flag: string, raw: unknown, min: number, max: number): number {
  const text = String(Array.isArray(raw) ? raw[raw.length - 1] : raw).trim();
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new CommandLineError(`--${flag} ${text}: not a whole number from ${min} to ${max}`);
  }
  return value;
}

/** yargs `coerce` for a duration flag. */
export const durationOption = (flag: string) => (raw: unknown) => (raw === undefined ? undefined : parseDuration(flag, raw));
/** yargs `coerce` for an integer flag. */
export const integerOption = (flag: string, min: number, max: number) => (raw: unknown) => (raw === undefined ? undefined : parseInteger(flag, raw, min, max));
