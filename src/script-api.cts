/**
 * The script API for code scripts that Node loads as CommonJS (a `.ts` script outside an ESM
 * package is compiled to CommonJS by tsx, and Node 20 cannot `require` the ESM entry). Kept to
 * the same few functions as `index.ts`.
 */
type Values = (string | Buffer)[];
interface Entry { dn: string; attributes: Record<string, Values> }

export function defineScript<T>(definition: T): T {
  return definition;
}

export function getValues(entry: Entry, name: string): Values {
  const key = Object.keys(entry.attributes).find((k) => k.toLowerCase() === name.toLowerCase());
  return key ? entry.attributes[key]! : [];
}

export function getFirst(entry: Entry, name: string): string | undefined {
  const v = getValues(entry, name)[0];
  return v === undefined ? undefined : v.toString();
}
