import type { SchemaScript } from '../schema/schema-file.js';
import type { ScriptDefinition } from './define.js';

/**
 * `schema`: `NN-name.schema.ldif`, attribute types and object classes (README "Schema scripts");
 * `config`: `NN-name.config.ldif`, change records against every server's cn=config (README
 * "Configuration scripts").
 */
export type ScriptKind = 'ldif' | 'code' | 'schema' | 'config';

/** One upgrade script file, as discovered (its code, if any, is loaded separately). */
export interface ScriptFile {
  /** Version folder name, or the tag name for tag scripts. */
  version: string;
  tag?: string;
  /** Two-digit ordering prefix. */
  prefix: string;
  /** File name, e.g. `01-add-people-index.ldif`. */
  name: string;
  path: string;
  kind: ScriptKind;
  /** SHA-256 (hex) of the normalised text. */
  checksum: string;
  /** LDIF scripts: how many records the file holds (its `dn:` lines), for the progress line. */
  records?: number;
  /** Loaded code script (code scripts only, after `prepareScripts`). */
  definition?: ScriptDefinition;
  /**
   * Configuration scripts named for one server kind (`NN-name.openldap.config.ldif`,
   * `NN-name.389ds.config.ldif`): skipped on the other.
   */
  serverKind?: 'openldap' | '389ds';
  /** Parsed definitions (schema scripts only, after `prepareScripts`). */
  schema?: SchemaScript;
}

export interface VersionScripts {
  version: string;
  scripts: ScriptFile[];
}

/** Every script in the scripts folder: versions in semver order, and named tags. */
export interface ScriptCatalog {
  dir: string;
  versions: VersionScripts[];
  tags: Map<string, ScriptFile[]>;
  /** Files that were skipped (not scripts), for information. */
  skipped: string[];
}

/** `1.1.0/01-add.ldif` or `tags/fix/01-x.ts`: how a script is named in messages and history. */
export function scriptId(script: Pick<ScriptFile, 'version' | 'tag' | 'name'>): string {
  return script.tag ? `tags/${script.tag}/${script.name}` : `${script.version}/${script.name}`;
}
