import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScriptFileError } from '../../src/errors.js';
import { discoverScripts } from '../../src/scripts/catalog.js';
import { scriptChecksum } from '../../src/scripts/checksum.js';
import { loadCodeScript } from '../../src/scripts/load-code.js';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ldap-upgrade-scripts-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('discoverScripts', () => {
  it('orders versions as semver and scripts by prefix; finds tags; skips other files', () => {
    const dir = tree({
      '10.0.0/01-a.ldif': 'dn: x\nchangetype: delete\n', '9.0.0/02-b.ts': '', '9.0.0/01-a.js': '', '2.0.0/01-x.mjs': '',
      'tags/fix/01-f.ts': '', 'README.md': '# notes', '9.0.0/notes.txt': '',
    });
    const c = discoverScripts(dir);
    expect(c.versions.map((v) => v.version)).toEqual(['2.0.0', '9.0.0', '10.0.0']);
    expect(c.versions[1]!.scripts.map((s) => s.name)).toEqual(['01-a.js', '02-b.ts']);
    expect(c.tags.get('fix')!.map((s) => [s.name, s.tag])).toEqual([['01-f.ts', 'fix']]);
    expect(c.skipped.sort()).toEqual(['9.0.0/notes.txt', 'README.md']);
  });

  it('refuses a folder that is not a version, naming it', () => {
    const dir = tree({ '1.2/01-a.ldif': '' });
    expect(() => discoverScripts(dir)).toThrow(ScriptFileError);
    expect(() => discoverScripts(dir)).toThrow(/1\.2: folder name is not a semantic version/);
  });

  it('refuses two scripts with one prefix in one version', () => {
    expect(() => discoverScripts(tree({ '1.0.0/01-a.ldif': '', '1.0.0/01-b.ts': '' }))).toThrow(/01-a\.ldif and 01-b\.ts share the prefix 01/);
  });

  it('refuses a script without a two-digit prefix', () => {
    expect(() => discoverScripts(tree({ '1.0.0/a.ldif': '' }))).toThrow(/two-digit prefix/);
  });

  it('refuses a missing scripts folder', () => {
    expect(() => discoverScripts('/nonexistent/upgrade-scripts')).toThrow(/does not exist/);
  });
});

describe('checksums', () => {
  it('ignore line endings and trailing blanks, not content', () => {
    expect(scriptChecksum('a\r\nb  \n\n')).toBe(scriptChecksum('a\nb'));
    expect(scriptChecksum('a\nb')).not.toBe(scriptChecksum('a\nc'));
  });
});

describe('loadCodeScript', () => {
  it('loads a TypeScript script with its runOnce key', async () => {
    const dir = tree({ '1.0.0/01-a.ts': "const s: { runOnce: string; up(): Promise<void> } = { runOnce: 'reindex', async up() {} };\nexport default s;\n" });
    const [script] = discoverScripts(dir).versions[0]!.scripts;
    const def = await loadCodeScript(script!);
    expect(def.runOnce).toBe('reindex');
    expect(typeof def.up).toBe('function');
  });

  it('says what is wrong with a script without up()', async () => {
    const dir = tree({ '1.0.0/01-a.mjs': 'export default { description: "x" };\n' });
    const [script] = discoverScripts(dir).versions[0]!.scripts;
    await expect(loadCodeScript(script!)).rejects.toThrow(/01-a\.mjs: must export default defineScript/);
  });

  it('says why a script cannot be loaded', async () => {
    const dir = tree({ '1.0.0/01-a.ts': 'export default {{{;\n' });
    const [script] = discoverScripts(dir).versions[0]!.scripts;
    await expect(loadCodeScript(script!)).rejects.toThrow(/01-a\.ts: cannot load: /);
  });
});
