/**
 * The streamed LDIF script (issue #27), measured as users run it: a bulk import of RECORDS
 * inetOrgPerson adds as one LDIF script —
 *  - `validate --offline` of it (time, peak RSS, MB/s of the file), and of a file of about 1 GB;
 *  - its dry run and its real run on a 2-node sandbox (time, peak RSS), beside `ldapadd -f` of
 *    the same file and the wait until both nodes have it.
 * `BENCH_LDIF_RECORDS` (1000000), `BENCH_LDIF_GB` (1; 0 skips the 1 GB file),
 * `BENCH_LDIF_REAL` (1; 0 skips the dry and real runs against the sandbox).
 */
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { attach } from '../../src/sandbox/cluster.js';
import { readState, startCluster } from '../../src/sandbox/index.js';
import { BIN, clientPasswordFile, ldapArgs, ok, settle, timed } from './measure.js';

const RECORDS = Number(process.env.BENCH_LDIF_RECORDS ?? 1_000_000);
const GB = Number(process.env.BENCH_LDIF_GB ?? 1);
const REAL = process.env.BENCH_LDIF_REAL !== '0';

const say = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** Writes `count` adds under ou=import (the parent first when `parent`), `${suffix}` left for the tool. */
function writeImport(file: string, count: number, suffix = '${suffix}', parent = false): number {
  const fd = openSync(file, 'w');
  try {
    if (parent) writeSync(fd, `dn: ou=import,${suffix}\nobjectClass: organizationalUnit\nou: import\n\n`);
    let batch: string[] = [];
    for (let i = 0; i < count; i++) {
      const uid = `u${String(i).padStart(8, '0')}`;
      batch.push(`dn: uid=${uid},ou=import,${suffix}\nchangetype: add\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: Imported Person ${i}\nsn: Person${i}\ngivenName: Imported\nmail: ${uid}@example.com\ntelephoneNumber: +1 555 ${String(i % 10_000).padStart(4, '0')}\ndescription: imported by the bulk step of the upgrade, record ${i}\n\n`);
      if (batch.length === 10_000) {
        writeSync(fd, batch.join(''));
        batch = [];
      }
    }
    writeSync(fd, batch.join(''));
  } finally {
    closeSync(fd);
  }
  return statSync(file).size;
}

interface ValidateFigures { records: number; mb: number; ms: number; peakRssMb: number; mbPerS: number; parseMs: number; parseMbPerS: number }

async function validate(dir: string, records: number): Promise<ValidateFigures> {
  mkdirSync(join(dir, 'scripts', '1.0.0'), { recursive: true });
  const file = join(dir, 'scripts', '1.0.0', '01-import.ldif');
  const bytes = writeImport(file, records);
  writeFileSync(join(dir, 'ldap-upgrade.yaml'), 'server: openldap\nsuffix: dc=example,dc=com\nmaster:\n  url: ldap://127.0.0.1:1\nbind:\n  dn: cn=x\nscripts: ./scripts\n');
  say(`validate --offline of ${records} records (${(bytes / 2 ** 20).toFixed(0)} MiB)`);
  const r = ok('validate', await timed(process.execPath, [BIN, 'validate', '--offline', '--config', join(dir, 'ldap-upgrade.yaml')], { rss: true }));
  // The reader alone (validate also streams the file once more for its checksum).
  const reader = join(BIN, '..', '..', 'ldif', 'parse.js');
  const parse = ok('parse', await timed(process.execPath, ['--input-type=module', '-e',
    `import { readLdifFile } from ${JSON.stringify(reader)}; const t = performance.now(); let n = 0; for (const r of readLdifFile(${JSON.stringify(file)}, { placeholders: { suffix: 'dc=x' } })) n++; console.log(n, performance.now() - t);`]));
  const [parsed, parseMs] = parse.stdout.trim().split(' ').map(Number);
  if (parsed !== records) throw new Error(`the reader read ${parsed} records, not ${records}`);
  rmSync(file);
  const mb = bytes / 1e6;
  return {
    records, mb: Math.round(mb), ms: Math.round(r.ms), peakRssMb: +r.peakRssMb!.toFixed(1), mbPerS: +(mb / (r.ms / 1000)).toFixed(1),
    parseMs: Math.round(parseMs!), parseMbPerS: +(mb / (parseMs! / 1000)).toFixed(1),
  };
}

export interface LdifStreamFigures {
  validate: ValidateFigures;
  validateGb?: ValidateFigures;
  dryRun?: { ms: number; peakRssMb: number };
  run?: { ms: number; applyMs: number; convergeMs: number; peakRssMb: number; ldapaddAndWaitMs: number; vsLdapadd: number };
}

export async function ldifStreamRuns(parent: string): Promise<LdifStreamFigures> {
  const figures: LdifStreamFigures = { validate: await validate(join(parent, 'ldif-validate'), RECORDS) };
  say(`validate: ${figures.validate.ms} ms, ${figures.validate.mbPerS} MB/s, ${figures.validate.peakRssMb} MB`);
  if (GB > 0) {
    // About 386 bytes a record.
    figures.validateGb = await validate(join(parent, 'ldif-validate-gb'), Math.ceil((GB * 2 ** 30) / 386));
    say(`validate of ${figures.validateGb.mb} MB: ${figures.validateGb.ms} ms, ${figures.validateGb.peakRssMb} MB`);
  }
  if (!REAL) return figures;
  const dir = join(parent, 'ldif-sandbox');
  const scripts = join(dir, 'scripts');
  mkdirSync(join(scripts, '1.0.0'), { recursive: true });
  const cluster = await startCluster({ nodes: 2, dir, scriptsDir: scripts });
  try {
    writeImport(join(scripts, '1.0.0', '01-import.ldif'), RECORDS, '${suffix}', true);
    const cli = (args: string[]) => timed(process.execPath, [BIN, ...args, '--config', cluster.configFile], { rss: true, stdout: 'discard' });
    say(`dry run of the ${RECORDS}-record script`);
    const dry = ok('dry run', await cli(['upgrade', '--dry-run', '--summary']));
    figures.dryRun = { ms: Math.round(dry.ms), peakRssMb: +dry.peakRssMb!.toFixed(1) };
    say(`dry run: ${figures.dryRun.ms} ms, ${figures.dryRun.peakRssMb} MB; the real run`);
    const real = ok('upgrade', await timed(process.execPath, [BIN, 'upgrade', '--yes', '--json', '--timeout', '30m', '--config', cluster.configFile], { rss: true }));
    const report = JSON.parse(real.stdout) as { steps: { durationMs: number; entriesChanged: number }[]; convergeMs: number };
    if (report.steps[0]!.entriesChanged !== RECORDS + 1) throw new Error(`the run added ${report.steps[0]!.entriesChanged} entries, not ${RECORDS + 1}`);
    // By hand: the same file through ldapadd (into another subtree), then the wait until both nodes agree.
    const byHand = join(dir, 'by-hand.ldif');
    writeImport(byHand, RECORDS, `ou=hand,${cluster.suffix}`, false);
    const state = attach(readState(dir)!);
    const pw = clientPasswordFile(state);
    writeFileSync(join(dir, 'hand-parent.ldif'), `dn: ou=hand,${cluster.suffix}\nobjectClass: organizationalUnit\nou: hand\n\ndn: ou=import,ou=hand,${cluster.suffix}\nobjectClass: organizationalUnit\nou: import\n`);
    ok('ldapadd', await timed('ldapadd', [...ldapArgs(state, pw), '-f', join(dir, 'hand-parent.ldif')], { stdout: 'discard' }));
    const started = performance.now();
    ok('ldapadd', await timed('ldapmodify', [...ldapArgs(state, pw), '-f', byHand], { stdout: 'discard' }));
    await settle(state);
    const byHandMs = performance.now() - started;
    figures.run = {
      ms: Math.round(real.ms), applyMs: report.steps[0]!.durationMs, convergeMs: report.convergeMs, peakRssMb: +real.peakRssMb!.toFixed(1),
      ldapaddAndWaitMs: Math.round(byHandMs), vsLdapadd: +(byHandMs / real.ms).toFixed(2),
    };
    say(`real run: ${figures.run.ms} ms, ${figures.run.peakRssMb} MB; ldapadd -f + wait ${figures.run.ldapaddAndWaitMs} ms`);
    return figures;
  } finally {
    await attach(readState(dir)!).stop({ graceMs: 300 });
  }
}

/** The table's rows for these figures. */
export function ldifStreamRows(f: LdifStreamFigures, met: (yes: boolean) => string): [string, string, string][] {
  const v = f.validate;
  return [
    [`parse, LDIF script of ${v.records} records (${v.mb} MB)`, `${v.parseMs} ms`, `${v.parseMbPerS} MB/s (≥ 50: ${met(v.parseMbPerS >= 50)})`],
    [`validate --offline of it (checksum pass + parse)`, `${v.ms} ms`, `${v.mbPerS} MB/s of the file, peak RSS ${v.peakRssMb} MB (< 200: ${met(v.peakRssMb < 200)})`],
    ...(f.validateGb ? [[`validate, LDIF script of ${f.validateGb.mb} MB`, `${f.validateGb.ms} ms`, `validates: met; ${f.validateGb.mbPerS} MB/s, peak RSS ${f.validateGb.peakRssMb} MB`] as [string, string, string]] : []),
    ...(f.dryRun ? [[`dry run of the ${v.records}-record LDIF script`, `${f.dryRun.ms} ms`, `peak RSS ${f.dryRun.peakRssMb} MB (< 200: ${met(f.dryRun.peakRssMb < 200)})`] as [string, string, string]] : []),
    ...(f.run ? [
      [`real run of the ${v.records}-record LDIF script, 2 nodes`, `${f.run.ms} ms`, `apply ${f.run.applyMs} ms, convergence ${f.run.convergeMs} ms; peak RSS ${f.run.peakRssMb} MB (< 200: ${met(f.run.peakRssMb < 200)})`],
      ['  the same records: ldapmodify -f + wait', `${f.run.ldapaddAndWaitMs} ms`, `tool ${f.run.vsLdapadd}× by hand`],
    ] as [string, string, string][] : []),
  ];
}
