/** What upgrade scripts and embedding programs import from `ldap-upgrade`. */
export { defineScript } from './scripts/define.js';
export type { ScriptContext, ScriptDefinition, ScriptSearch } from './scripts/define.js';
export type { LdapEntry, Modification, AttributeValue } from './ldap/entry.js';
export { getValues, getFirst } from './ldap/entry.js';
