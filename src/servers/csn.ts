/**
 * Change sequence numbers as both servers print them. OpenLDAP: `YYYYmmddHHMMSS.uuuuuuZ#cccccc#SID#mmmmmm`;
 * 389 DS: 20 hex digits (time 8, seq 4, rid 4, subseq 4). Both are fixed width, so for one server
 * (or replica) id, string order is time order.
 */

/** Server id → max CSN, from OpenLDAP `contextCSN` values. */
export function parseContextCsn(values: readonly string[]): Map<string, string> {
  const bySid = new Map<string, string>();
  for (const value of values) {
    const parts = value.split('#');
    if (parts.length !== 4) continue;
    const sid = parts[2]!.toLowerCase();
    const prev = bySid.get(sid);
    if (!prev || value > prev) bySid.set(sid, value);
  }
  return bySid;
}

export interface CatchUp {
  caughtUp: boolean;
  /** Server ids for which the replica is behind, with both CSNs. */
  behind: { sid: string; master: string; replica?: string }[];
}

/**
 * A replica has caught up when for every id in the master's set it holds a CSN ≥ the master's
 * (but `ownId`, the replica's own id, when given: a server holds its own changes).
 */
export function compareCsnSets(master: Map<string, string>, replica: Map<string, string>, ownId?: string): CatchUp {
  const behind: CatchUp['behind'] = [];
  for (const [sid, csn] of master) {
    if (sid === ownId) continue;
    const theirs = replica.get(sid);
    if (theirs === undefined || theirs < csn) behind.push({ sid, master: csn, replica: theirs });
  }
  return { caughtUp: behind.length === 0, behind };
}

/** Time of an OpenLDAP CSN in ms since the epoch (for "how far behind" messages). */
export function csnTime(csn: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\.(\d{6})Z/.exec(csn);
  if (m) return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, Math.floor(+m[7]! / 1000));
  if (/^[0-9a-f]{20}$/i.test(csn)) return parseInt(csn.slice(0, 8), 16) * 1000;
  return undefined;
}

/** How far behind the master a replica's newest change is, in ms (Infinity: unknown, a server id never heard from). */
export function lagMs(result: CatchUp): number {
  let worst = 0;
  for (const b of result.behind) {
    const m = csnTime(b.master);
    const r = b.replica ? csnTime(b.replica) : undefined;
    if (m !== undefined && r !== undefined) worst = Math.max(worst, m - r);
    else worst = Infinity;
  }
  return worst;
}

export function describeLag(result: CatchUp): string {
  if (result.caughtUp) return 'converged';
  const worst = lagMs(result);
  // Equal times to the CSN's resolution (389 DS: a second) are not "behind by 0.0 s".
  if (worst !== Infinity) return worst < 100 ? `behind (by less than ${/^[0-9a-f]{20}$/i.test(result.behind[0]!.master) ? 'a second' : '0.1 s'}: changes of server id ${result.behind.map((b) => b.sid).join(', ')} have not arrived)` : `behind by ${(worst / 1000).toFixed(1)} s`;
  const unknown = result.behind.filter((b) => b.replica === undefined).map((b) => b.sid);
  return `missing changes of server id ${unknown.join(', ')}, which it has never heard from`;
}
