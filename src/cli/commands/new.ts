import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { UsageError } from '../../errors.js';

interface Args {
  release: string;
  name: string;
  ldif?: boolean;
  ts?: boolean;
  schema?: boolean;
  config?: string | string[];
  server?: 'openldap' | '389ds';
  scripts?: string;
  json?: boolean;
}

const LDIF_TEMPLATE = (name: string, UNWRITTEN_LINE: string) => `# ${name}
# ${UNWRITTEN_LINE} — delete this line once the records below are yours (until then the
# script refuses to run, so that an example is never recorded as applied).
# RFC 2849 change records, applied idempotently. Placeholders: \${suffix}, \${versionEntry}.
# Mark an add with "# ldap-upgrade: merge" to add missing values to an existing entry.

dn: ou=example,\${suffix}
changetype: add
objectClass: organizationalUnit
ou: example
`;

const SCHEMA_TEMPLATE = (name: string) => `# ${name}
# Attribute types and object classes (RFC 4512), in 389 DS's form (below) or OpenLDAP's
# (cn=NAME,cn=schema,cn=config with olcAttributeTypes / olcObjectClasses / olcObjectIdentifier):
# either works on both servers. Use your organisation's OID arc. Until a definition is written
# here, "ldap-upgrade validate" refuses the file.
dn: cn=schema
# attributeTypes: ( 1.3.6.1.4.1.YOUR-ARC.1.1 NAME 'exampleAttribute' DESC 'what it holds'
#   EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
# objectClasses: ( 1.3.6.1.4.1.YOUR-ARC.2.1 NAME 'exampleClass' SUP top AUXILIARY
#   MAY exampleAttribute )
`;

const OPENLDAP_INDEX = `dn: \${databaseDn}
changetype: modify
add: olcDbIndex
olcDbIndex: mail eq,sub
`;

const DIRSRV_INDEX = `dn: cn=mail,cn=index,\${databaseDn}
changetype: add
objectClass: top
objectClass: nsIndex
cn: mail
nsSystemIndex: false
nsIndexType: eq
nsIndexType: sub
`;

const commented = (text: string) => text.trimEnd().split('\n').map((l) => `# ${l}`).join('\n');

const CONFIG_TEMPLATE = (name: string, UNWRITTEN_LINE: string, server?: 'openldap' | '389ds') => `# ${name}
# ${UNWRITTEN_LINE} — delete this line once the records below are yours (until then the
# script refuses to run, so that an example is never recorded as applied).
# RFC 2849 change records against cn=config, applied on every server (master and each replica)
# over configBind, after this version's schema scripts and before its data scripts; a record
# that holds already is a no-op. Placeholders: \${databaseDn} (each server's entry for the
# suffix's database), \${suffix}. An index added is built for the entries already there, and
# the run waits for it.
${server === 'openldap' ? OPENLDAP_INDEX : server === '389ds' ? DIRSRV_INDEX : `# On OpenLDAP (name the file NN-name.openldap.config.ldif to keep it to OpenLDAP):\n${commented(OPENLDAP_INDEX)}\n#\n# On 389 DS (NN-name.389ds.config.ldif):\n${commented(DIRSRV_INDEX)}\n`}`;

const TS_TEMPLATE = (name: string, UNWRITTEN_LINE: string) => `// ${UNWRITTEN_LINE} — delete this line once the script is written (until then it refuses
// to run, so that an example is never recorded as applied).
import { defineScript } from 'ldap-upgrade';

export default defineScript({
  description: '${name.replace(/'/g, "\\'")}',
  async up(ctx) {
    for await (const entry of ctx.search({ base: ctx.suffix, filter: '(objectClass=person)', attributes: ['cn'] })) {
      ctx.log(\`would change \${entry.dn}\`);
    }
  },
});
`;

export const newCommand: CommandModule<object, Args> = {
  command: 'new <release> <name>',
  describe: 'Scaffold an upgrade script in the scripts folder (it refuses to run until it is written)',
  builder: (y) => y
    .positional('release', { type: 'string', demandOption: true, describe: 'the version the script belongs to (its folder), e.g. 1.3.0' })
    .positional('name', { type: 'string', demandOption: true, describe: 'short name, e.g. add-mail-index' })
    .option('ldif', { type: 'boolean', describe: 'an LDIF script' })
    .option('ts', { type: 'boolean', describe: 'a TypeScript script (the default)' })
    .option('schema', { type: 'boolean', describe: 'a schema script (attribute types and object classes, NN-name.schema.ldif)' })
    .option('config', { type: 'string', describe: 'given a file: the configuration file (for its scripts folder); given alone: a configuration script (cn=config on every server, NN-name.config.ldif)' })
    .option('server', { choices: ['openldap', '389ds'] as const, describe: 'with --config: a configuration script for one server kind (NN-name.openldap.config.ldif), with its index example' })
    .option('scripts', { type: 'string', describe: 'scripts folder (default: the configured one, else ./upgrade-scripts)' })
    .option('json', { type: 'boolean', describe: 'print JSON' })
    .example('$0 new 1.3.0 add-mail-index', 'upgrade-scripts/1.3.0/01-add-mail-index.ts')
    .example('$0 new 1.3.0 mail-schema --schema', 'upgrade-scripts/1.3.0/02-mail-schema.schema.ldif')
    .example('$0 new 1.3.0 mail-index --config --server 389ds', 'upgrade-scripts/1.3.0/03-mail-index.389ds.config.ldif')
    .conflicts('ldif', ['ts', 'schema'])
    .conflicts('ts', 'schema') as never,
  handler: async (argv) => {
    // Loaded here, not at start-up: `--help` and the other commands do not pay for them.
    const { default: semver } = await import('semver');
    const { loadConfig, locateConfig } = await import('../../config/load.js');
    const { UNWRITTEN_LINE } = await import('../../scripts/catalog.js');
    if (!semver.valid(argv.release) || semver.clean(argv.release) !== argv.release) throw new UsageError(`${argv.release} is not a semantic version like 1.3.0`);
    if (!/^[a-z0-9][a-z0-9-]*$/i.test(argv.name)) throw new UsageError(`name "${argv.name}": use letters, digits and dashes`);
    // `--config` alone asks for a configuration script; `--config FILE` names the configuration file.
    const given = argv.config === undefined ? [] : Array.isArray(argv.config) ? argv.config : [argv.config];
    const configScript = given.includes('');
    const configFile = given.find((g) => g !== '');
    if (configScript && (argv.ldif || argv.ts || argv.schema)) throw new UsageError('--config (a configuration script) goes with none of --ldif, --ts, --schema');
    if (argv.server && !configScript) throw new UsageError('--server names the server kind of a configuration script: give --config too');
    const file = locateConfig(configFile);
    const scripts = argv.scripts ? resolve(argv.scripts) : file ? loadConfig(file).scripts : resolve('upgrade-scripts');
    const folder = join(scripts, argv.release);
    mkdirSync(folder, { recursive: true });
    const prefixes = existsSync(folder) ? readdirSync(folder).map((f) => /^(\d{2})-/.exec(f)?.[1]).filter(Boolean).map(Number) : [];
    const next = prefixes.length ? Math.max(...prefixes) + 1 : 1;
    if (next > 99) throw new UsageError(`${folder} has no two-digit prefix left`);
    const ending = configScript ? `${argv.server ? `${argv.server}.` : ''}config.ldif` : argv.ldif ? 'ldif' : argv.schema ? 'schema.ldif' : 'ts';
    const path = join(folder, `${String(next).padStart(2, '0')}-${argv.name}.${ending}`);
    const text = configScript ? CONFIG_TEMPLATE(argv.name, UNWRITTEN_LINE, argv.server) : argv.ldif ? LDIF_TEMPLATE(argv.name, UNWRITTEN_LINE) : argv.schema ? SCHEMA_TEMPLATE(argv.name) : TS_TEMPLATE(argv.name, UNWRITTEN_LINE);
    writeFileSync(path, text, { flag: 'wx' });
    const kind = configScript ? 'config' : argv.ldif ? 'ldif' : argv.schema ? 'schema' : 'code';
    process.stdout.write(argv.json ? JSON.stringify({ kind: 'new', formatVersion: 1, path, scriptKind: kind, version: argv.release }, null, 2) + '\n' : `created ${path} (write it, then delete its "${UNWRITTEN_LINE}" line)\n`);
  },
};
