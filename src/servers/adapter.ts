import type { Directory } from '../ldap/directory.js';
import type { Protection, SchemaDiff } from '../schema/compare.js';
import type { Definition } from '../schema/definition.js';
import type { SchemaScript } from '../schema/schema-file.js';
import type { CatchUp } from './csn.js';
import type { ConfigWrite } from '../ldap/planned-write.js';

export type ServerKind = 'openldap' | '389ds';

/** A replica's write state before the tool touched it, kept in the run record to restore it. */
export interface WriteState {
  /** The configuration entry that holds the setting (cn=config database or mapping-tree entry). */
  entryDn: string;
  attribute: string;
  /** The attribute's values before the freeze; [] when it was absent. */
  original: string[];
  /** Whether the replica refused client writes already (its administrator froze it, or it is a read-only consumer). */
  frozen: boolean;
  /** Why it refuses client writes, in words (e.g. "a read-only consumer: olcSyncrepl without olcMultiProvider"). */
  why?: string;
  /**
   * Read-only now, but not for long: its server undoes the setting by itself (389 DS resets a
   * supplier's mapping-tree state at its next incoming replication session). The run freezes it
   * all the same, and gives this state back after.
   */
  transient?: boolean;
  /**
   * 389 DS: the replica's own id. A replica holds its own changes by definition, and a supplier
   * made a hub forgets them in its RUV until the master sends them again: convergence checks
   * leave this id out.
   */
  ownId?: string;
  /**
   * Other attributes the freeze changes, with their values before it (restored on unfreeze); on
   * `dn` when that is another entry than `entryDn`.
   */
  others?: { attribute: string; original: string[]; dn?: string }[];
}

export interface FreezeContext {
  /**
   * Waits until the master has every change this replica holds (its clients' last writes before
   * the freeze), so that the scripts see them and nothing is lost; throws after a bounded time.
   */
  drain(): Promise<void>;
  /** The master's URL (389 DS: where a frozen replica's chained binds go). */
  masterUrl: string;
  /** The suffix being upgraded. */
  suffix: string;
}

export interface UnfreezeContext {
  /**
   * Waits (bounded, best effort) until the replica holds every change the master has, leaving
   * out `ownId` (its own changes, which it holds by definition) when given.
   */
  settle(ownId?: string): Promise<void>;
}

/** How schema scripts reach a server kind (README "Schema scripts"). */
export interface SchemaWriter {
  /**
   * `each-node`: every server keeps its own schema and is written itself (OpenLDAP with a
   * per-node cn=config); `master`: the master is written and replication carries it.
   */
  placement(config: Directory): Promise<'each-node' | 'master'>;
  /** Why `bindDn` may not write the schema here, as far as can be told without writing; undefined when it may. */
  writeProblem(config: Directory, bindDn: string): Promise<string | undefined>;
  /**
   * Which of the server's definitions a script may not replace: 389 DS's own (an X-ORIGIN other
   * than "user defined"), OpenLDAP's built-in ones and those of another schema entry.
   */
  protection(config: Directory, script: SchemaScript): Promise<Protection>;
  /** Adds the new definitions and replaces the changed ones (never deletes one). */
  apply(config: Directory, script: SchemaScript, diff: SchemaDiff): Promise<void>;
  /**
   * Writes definitions the master holds already once more, so that replication sends them to a
   * replica that lacks them (389 DS pushes its schema when the master's schema CSN is newer than
   * the replica's; a schema write refused half-way may leave it not so). Kinds without it wait.
   */
  renew?(config: Directory, definitions: Definition[]): Promise<void>;
}

/** The index builds a configuration script's writes call for on one server. */
export interface IndexBuild {
  /** Attributes whose index was added or whose types changed. */
  attributes: string[];
  /** 389 DS: VLV indexes (their cn) added or whose sort changed. */
  vlv: string[];
}

export interface IndexBuildOptions {
  timeoutMs: number;
  pollMs: number;
  signal?: AbortSignal;
  /** A line of live progress (the task's status). */
  progress(text: string): void;
  /** Called once the build has started, before the wait. */
  started?(): Promise<void>;
}

export interface IndexBuildResult {
  /** What was built and how it ended, in a few words ("task cn=…: exit 0"). */
  summary: string;
  /** The build could not be watched to its end (the run goes on): why. */
  warning?: string;
}

/** How configuration scripts reach a server kind (README "Configuration scripts"). */
export interface ConfigWriter {
  /**
   * This server's entry for the suffix's database, `${databaseDn}` (OpenLDAP: the
   * `olcDatabase={N}…,cn=config` whose olcSuffix it is; 389 DS: the backend the mapping tree names,
   * under cn=ldbm database). Throws naming the server when it has none.
   */
  databaseDn(config: Directory, suffix: string): Promise<string>;
  /** Why `bindDn` may not write `dn` (the database entry) here, as far as can be told without writing; undefined when it may. */
  writeProblem(config: Directory, bindDn: string, dn: string): Promise<string | undefined>;
  /** The builds `writes` call for (undefined: none). */
  indexBuild(writes: ConfigWrite[], databaseDn: string): IndexBuild | undefined;
  /**
   * Index builds this tool started that are still running here and keep the database from taking
   * writes (389 DS sets a backend read-only while an index task runs on it), by name; kinds
   * whose builds leave the database writable have none.
   */
  runningBuilds?(config: Directory, suffix: string): Promise<string[]>;
  /** Builds them for the entries already there and waits until done; throws when the build fails or outlives its deadline. */
  buildIndexes(config: Directory, suffix: string, databaseDn: string, build: IndexBuild, options: IndexBuildOptions): Promise<IndexBuildResult>;
}

/** The replication state of the suffix on one server: an id → max CSN map. */
export type ReplicationState = Map<string, string>;

/** Everything that differs between server kinds (one implementation per kind). */
export interface ServerAdapter {
  readonly kind: ServerKind;
  /**
   * Attributes a backup asks for: every user attribute and the operational ones an offline
   * restore (slapadd, ldif2db) keeps, so that restored entries keep their identity and history.
   */
  readonly backupAttributes: string[];
  /** Schema scripts: where they go and how they are written. */
  readonly schema: SchemaWriter;
  /** Configuration scripts: the database entry, the right to write, the index builds. */
  readonly config: ConfigWriter;
  /** Reads the suffix's replication state (contextCSN / RUV) over a data connection. */
  readReplicationState(data: Directory, suffix: string): Promise<ReplicationState>;
  /** Whether `replica` has everything of `master` (leaving out `ownId`, the replica's own id, when given). */
  compare(master: ReplicationState, replica: ReplicationState, ownId?: string): CatchUp;
  /**
   * Why a write state read back from a run record is not one this adapter's freeze records for
   * `suffix` (undefined: it is): the entry, the attributes and the kind of values it restores.
   * A record is input — anyone who can write the suffix can write one — so nothing else is ever
   * written back by unfreeze.
   */
  writeStateProblem(state: WriteState, suffix: string): string | undefined;
  /** Reads a replica's current write state over its cn=config connection. */
  readWriteState(config: Directory, suffix: string): Promise<WriteState>;
  /**
   * Makes client writes fail while replication still applies (docs/run.md "Freeze"). Once client writes are
   * held, and before anything that would drop changes the replica has not sent yet, it calls
   * `context.drain()`, which returns when the master has every change the replica holds.
   */
  freeze(config: Directory, state: WriteState, context: FreezeContext): Promise<void>;
  /**
   * Restores the state recorded before the freeze. `context.settle()` waits (bounded, best
   * effort) until the replica holds every change the master has, for kinds that must not be given
   * back while the master still sends it changes.
   */
  unfreeze(config: Directory, state: WriteState, context: UnfreezeContext): Promise<void>;
  /**
   * What replica discovery cannot find on this kind (undefined: it finds every replica by
   * following the replication configuration from the master).
   */
  readonly discoveryBlindSpot?: string;
  /** Provider / consumer URLs the master replicates the suffix with (for replica discovery). */
  discoverReplicas(config: Directory, suffix: string): Promise<string[]>;
  /**
   * Something that names this server among its replication partners whatever URL it is reached
   * by (389 DS: a supplier's replica id; OpenLDAP: a single-valued olcServerID), or undefined.
   * Two URLs with one identity are one server: a replica must never be the master itself.
   */
  serverIdentity?(config: Directory, suffix: string): Promise<string | undefined>;
  /** Replication problems a server reports about itself (e.g. agreements in error), every one. */
  replicationProblems?(config: Directory, suffix: string): Promise<string[]>;
  /**
   * The same for preflight, split: `problems` refuse a run; `warnings` are states the run proves
   * or disproves by itself (a connection error an agreement reports from before a restart: the
   * canary proves the master reaches the replica, the drain that the replica reaches the master).
   */
  replicationHealth?(config: Directory, suffix: string): Promise<{ problems: string[]; warnings: string[] }>;
  /**
   * What this server says of its own outgoing replication of the suffix, a line per link (389 DS:
   * each agreement's name, target and last update status), for a message about a link that does
   * not deliver; undefined where the server keeps no such status.
   */
  replicationStatus?(config: Directory, suffix: string): Promise<string[]>;
}
