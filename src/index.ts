/** What upgrade scripts and embedding programs import from `ldap-upgrade`. */

// The script API (upgrade scripts).
export { defineScript } from './scripts/define.js';
export type { ScriptContext, ScriptDefinition, ScriptSearch } from './scripts/define.js';
export type { LdapEntry, Modification, AttributeValue } from './ldap/entry.js';
export { getValues, getFirst } from './ldap/entry.js';

// The programmatic API (programs that run upgrades): the commands' own result objects and errors.
export { upgrade, dryRun, status, recover, undo } from './api.js';
export type { ApiOptions, UpgradeApiOptions, DryRunApiOptions, RecoverApiOptions, UndoApiOptions } from './api.js';
export type { RunReport, RunOutcome, DryRunReport, StepResult, ReplicaResult, SchemaServerResult } from './run/reports.js';
export type { RecoverReport } from './run/recover.js';
export type { StatusReport, ReplicaStatus } from './inspect/status.js';
export type { UpgradeEvent } from './events.js';
export type { ChangeRecord } from './ldif/types.js';
export type { ConfigOverrides } from './config/types.js';
export {
  ExitCode, UpgradeError, UsageError, ConfigError, ConnectionError, LockedError, RefusedError, InterruptedRunError,
  ScriptFailedError, CancelledError, LdapOperationError,
} from './errors.js';
