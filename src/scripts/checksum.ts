import { createHash } from 'node:crypto';

/**
 * SHA-256 of a script's normalised text: line endings as LF, trailing blanks of each line and
 * trailing empty lines removed, so an editor's reformatting does not count as a change.
 */
export function scriptChecksum(text: string): string {
  const normalised = text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .map((l) => l.replace(/[ \t]+$/, ''))
    .join('\n')
    .replace(/\n+$/, '');
  return createHash('sha256').update(normalised, 'utf8').digest('hex');
}
