import { describe, expect, it } from 'vitest';
import { parseRuv } from '../../src/servers/389ds/adapter.js';
import { ownElementSafe } from '../../src/servers/389ds/legacy-hub.js';
import { isPinned, pinnedWriteState } from '../../src/servers/389ds/pinned-referral.js';
import { compareCsnSets, describeLag, parseContextCsn } from '../../src/servers/csn.js';

const csn = (t: string, sid: string) => `${t}.000000Z#000000#${sid}#000000`;

describe('contextCSN comparison', () => {
  it('keeps the highest CSN per server id', () => {
    const m = parseContextCsn([csn('20261121000000', '001'), csn('20261121000005', '001'), csn('20261121000001', '002'), 'garbage']);
    expect([...m]).toEqual([['001', csn('20261121000005', '001')], ['002', csn('20261121000001', '002')]]);
  });

  it('is caught up when every master id is matched or passed', () => {
    const master = parseContextCsn([csn('20261121000005', '001'), csn('20261121000001', '002')]);
    const replica = parseContextCsn([csn('20261121000005', '001'), csn('20261121000009', '002'), csn('20261121000009', '003')]);
    expect(compareCsnSets(master, replica)).toEqual({ caughtUp: true, behind: [] });
  });

  it('is behind when one id is older or missing, and says by how much', () => {
    const master = parseContextCsn([csn('20261121000005', '001'), csn('20261121000001', '002')]);
    const older = compareCsnSets(master, parseContextCsn([csn('20261121000003', '001'), csn('20261121000001', '002')]));
    expect(older.caughtUp).toBe(false);
    expect(older.behind.map((b) => b.sid)).toEqual(['001']);
    expect(describeLag(older)).toBe('behind by 2.0 s');
    const missing = compareCsnSets(master, parseContextCsn([csn('20261121000005', '001')]));
    expect(missing.behind.map((b) => b.sid)).toEqual(['002']);
    expect(describeLag(missing)).toBe('missing changes of server id 002, which it has never heard from');
  });

  it("leaves the replica's own id out when asked (a 389 DS supplier made a hub forgets its own id)", () => {
    const master = new Map([['1', '6b026b4b000200010000'], ['3', '6b026b08000000030000']]);
    const hub = new Map([['1', '6b026b4b000200010000']]);
    expect(compareCsnSets(master, hub).caughtUp).toBe(false);
    expect(compareCsnSets(master, hub, '3')).toEqual({ caughtUp: true, behind: [] });
    // Only its own id: another id it never heard from still counts.
    expect(compareCsnSets(master, hub, '2').behind.map((b) => b.sid)).toEqual(['3']);
  });

  it('compares microseconds by string order (fixed width)', () => {
    const a = '20261121000000.000009Z#000000#001#000000';
    const b = '20261121000000.000010Z#000000#001#000000';
    expect(compareCsnSets(parseContextCsn([b]), parseContextCsn([a])).caughtUp).toBe(false);
    expect(compareCsnSets(parseContextCsn([a]), parseContextCsn([b])).caughtUp).toBe(true);
  });
});

describe('389 DS RUV values', () => {
  const gen = '{replicageneration} 6926e2c5000000010000';
  const one = '{replica 1 ldap://127.0.0.1:3890} 6926e2c5000100010000 6926e3a0000400010000';
  it('reads each id with its max CSN, skipping elements without CSNs', () => {
    expect([...parseRuv([gen, one, '{replica 2 ldap://127.0.0.1:3891}', '{replica 3}'])]).toEqual([['1', '6926e3a0000400010000']]);
  });

  it("knows whether a hub's own former id is whole again (URL and CSNs) or absent, which is safe to promote", () => {
    expect(ownElementSafe([gen, one], '2')).toBe(true); // nothing of it re-sent yet
    expect(ownElementSafe([gen, one, '{replica 2}'], '2')).toBe(false); // added by a no-op replay
    expect(ownElementSafe([gen, one, '{replica 2 ldap://127.0.0.1:3891}'], '2')).toBe(false);
    expect(ownElementSafe([gen, one, '{replica 2 ldap://127.0.0.1:3891} 6926e2c6000000020000 6926e3a1000000020000'], '2')).toBe(true);
    expect(ownElementSafe([gen, '{replica 1}'], '2')).toBe(true);
  });
});

describe('389 DS pinned referral state (the freeze)', () => {
  const tree = (extra: Record<string, string[]> = {}) => ({ dn: 'cn=dc\\3Dx,cn=mapping tree,cn=config', attributes: { 'nsslapd-state': ['backend'], 'nsslapd-backend': ['userRoot'], 'nsslapd-referral': ['ldap://m:389/dc%3Dx'], ...extra } });
  it('records every attribute the freeze changes, with its values before', () => {
    expect(pinnedWriteState(tree())).toEqual({
      entryDn: 'cn=dc\\3Dx,cn=mapping tree,cn=config', attribute: 'nsslapd-state', original: ['backend'],
      others: [
        { dn: 'cn=dc\\3Dx,cn=mapping tree,cn=config', attribute: 'nsslapd-backend', original: ['userRoot'] },
        { dn: 'cn=dc\\3Dx,cn=mapping tree,cn=config', attribute: 'nsslapd-distribution-plugin', original: [] },
        { dn: 'cn=dc\\3Dx,cn=mapping tree,cn=config', attribute: 'nsslapd-distribution-funct', original: [] },
        { dn: 'cn=dc\\3Dx,cn=mapping tree,cn=config', attribute: 'nsslapd-referral', original: ['ldap://m:389/dc%3Dx'] },
      ],
    });
  });

  it('is pinned only with its own chaining backend and repl_chain_on_update', () => {
    expect(isPinned(tree())).toBe(false);
    expect(isPinned(tree({ 'nsslapd-backend': ['userRoot', 'ldapupgradefreeze'], 'nsslapd-distribution-funct': ['repl_chain_on_update'] }))).toBe(true);
    expect(isPinned(tree({ 'nsslapd-backend': ['userRoot', 'otherchain'], 'nsslapd-distribution-funct': ['repl_chain_on_update'] }))).toBe(false);
    expect(isPinned(tree({ 'nsslapd-backend': ['userRoot', 'ldapupgradefreeze'] }))).toBe(false);
  });
});
