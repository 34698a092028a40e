import type { ConfigOverrides, UpgradeConfig } from './config/types.js';
import type { EventSink, UpgradeEvent } from './events.js';
import type { StatusReport } from './inspect/status.js';
import type { ChangeRecord } from './ldif/types.js';
import type { Credentials, Topology } from './replication/topology.js';
import type { DryRunReport, RunReport } from './run/reports.js';
import type { RecoverReport } from './run/recover.js';

/**
 * The programmatic API: the commands `upgrade`, `upgrade --dry-run`, `status`, `recover` and `undo` for a
 * program that embeds the tool (an application that upgrades its directory at start-up). Each
 * returns the same result object its command prints with `--json` (without the nulls the JSON
 * adds for absent fields), and throws the same typed errors (`UpgradeError` subclasses, each
 * with its `exitCode`) for what stops it: `LockedError` (4) when another run holds the lock,
 * `InterruptedRunError` (8), `RefusedError` (7), `ConnectionError` (3), … Nothing is printed;
 * progress arrives as typed events through `onEvent`. No log or report file is written (those
 * are the CLI's); the journal of pre-images is, in `backupDir`, as for every run.
 */
export interface ApiOptions {
  /** The configuration file, as `--config` (default: ./ldap-upgrade.yaml, else $LDAP_UPGRADE_CONFIG). */
  config?: string;
  /** Overrides of its keys, as the command line's flags. */
  overrides?: ConfigOverrides;
  /**
   * The bind password. Default: as the CLI finds it without a terminal — $LDAP_UPGRADE_PASSWORD,
   * then the configured `passwordFile`; none: ConnectionError (exit 3) naming what is missing.
   */
  password?: string;
  /** The configBind password (default: as `password`, for $LDAP_UPGRADE_CONFIG_PASSWORD and its file). */
  configPassword?: string;
  /** Progress: the typed events the CLI renders. */
  onEvent?: (event: UpgradeEvent) => void;
}

export interface UpgradeApiOptions extends ApiOptions {
  /** Stop at this version (`--to`). */
  to?: string;
  /** Override the stored version (`--from`, needs `force`). */
  from?: string;
  /** Also run these named tags (`--tag`, needs `force`). */
  tags?: string[];
  force?: boolean;
  /** Go on although applied scripts drifted (`--accept-script-drift`). */
  acceptDrift?: boolean;
  /** Continue an interrupted run (`--resume`). */
  resume?: boolean;
  /** Stream the suffix to this LDIF file before freezing (`--backup`). */
  backupFile?: string;
  /** Aborting it rolls the run back and gives the replicas back (outcome `interrupted`). */
  signal?: AbortSignal;
  /** Run this saved plan and nothing else (`--plan FILE`; its own to/from/tags apply). */
  plan?: string;
}

export interface DryRunApiOptions extends Omit<UpgradeApiOptions, 'resume' | 'backupFile' | 'signal' | 'plan'> {
  /** Each planned change, as it is planned (the `--ldif` records). */
  onChange?: (script: string, change: ChangeRecord) => void;
  /** Also write the plan to this file (`--save-plan FILE`); the report's `savedPlan` has its digest. */
  savePlan?: string;
}

export interface UndoApiOptions extends ApiOptions {
  /** The completed run to undo. */
  runId: string;
  /** Undo a completed run that is not the latest (`--force`). */
  force?: boolean;
}

export interface RecoverApiOptions extends ApiOptions {
  /** Undo the interrupted run's changes first (`--rollback`). */
  rollback?: boolean;
  /** Recover although the holder may be alive (`--force`). */
  force?: boolean;
}

/** `upgrade --yes`: the whole run. The report's `outcome` says how it ended (see RunOutcome). */
export async function upgrade(options: UpgradeApiOptions = {}): Promise<RunReport> {
  const { runUpgrade } = await import('./run/upgrade.js');
  const saved = options.plan ? (await import('./plan/saved-plan.js')).readSavedPlan(options.plan, (await import('./version.js')).toolVersion()) : undefined;
  return withTopology(options, (topology, events) => runUpgrade(topology, {
    to: options.to, from: options.from, tags: options.tags, force: options.force, acceptDrift: options.acceptDrift,
    resume: options.resume, backupFile: options.backupFile, signal: options.signal, saved,
  }, events));
}

/** `upgrade --dry-run`: the plan, with nothing written anywhere. */
export async function dryRun(options: DryRunApiOptions = {}): Promise<DryRunReport> {
  const run = await import('./run/dry-run.js');
  const onChange = options.onChange ?? (() => undefined);
  return withTopology(options, (topology, events) => run.dryRun(topology, {
    to: options.to, from: options.from, tags: options.tags, force: options.force, acceptDrift: options.acceptDrift,
  }, onChange, events, options.savePlan));
}

/** `undo RUNID --yes`: a completed run taken back from its journal (a report of kind `undo`). */
export async function undo(options: UndoApiOptions): Promise<RunReport> {
  const { undoRun } = await import('./run/undo-run.js');
  return withTopology(options, (topology, events) => undoRun(topology, { runId: options.runId, force: options.force }, events));
}

/** `status`: stored version, target, pending scripts, lock, and each replica. `upToDate` answers "is it safe to start?". */
export async function status(options: ApiOptions = {}): Promise<StatusReport> {
  const { readStatus } = await import('./inspect/status.js');
  return withTopology(options, (topology) => readStatus(topology));
}

/** `recover`: gives back what an interrupted run froze (and, with `rollback`, undoes it first). */
export async function recover(options: RecoverApiOptions = {}): Promise<RecoverReport> {
  const run = await import('./run/recover.js');
  return withTopology(options, (topology, events) => run.recover(topology, { rollback: options.rollback, force: options.force }, events));
}

async function withTopology<T>(options: ApiOptions, fn: (topology: Topology, events: EventSink) => Promise<T>): Promise<T> {
  const { loadConfig, locateConfig } = await import('./config/load.js');
  const { openTopology } = await import('./replication/topology.js');
  const config = loadConfig(locateConfig(options.config), options.overrides);
  const events: EventSink = options.onEvent ?? (() => undefined);
  const topology = await openTopology(config, await credentials(config, options, events), events);
  try {
    return await fn(topology, events);
  } finally {
    await topology.close();
  }
}

async function credentials(config: UpgradeConfig, options: ApiOptions, events: EventSink): Promise<Credentials> {
  const { resolvePassword } = await import('./config/password.js');
  const warn = (message: string) => events({ type: 'warning', message });
  const bindPassword = options.password ?? (await resolvePassword({
    bindDn: config.bind.dn, envVar: 'LDAP_UPGRADE_PASSWORD', configuredFile: config.bind.passwordFile, warn,
  })).password;
  if (!config.separateConfigBind) return { bindPassword, configPassword: bindPassword };
  const configPassword = options.configPassword ?? (await resolvePassword({
    bindDn: config.configBind.dn, envVar: 'LDAP_UPGRADE_CONFIG_PASSWORD', configuredFile: config.configBind.passwordFile, warn,
  })).password;
  return { bindPassword, configPassword };
}
