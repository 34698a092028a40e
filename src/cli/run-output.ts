import { dirname } from 'node:path';
import type { UpgradeEvent } from '../events.js';
import type { RunReport } from '../run/reports.js';
import type { CommandOutcome } from './exit.js';
import { formatRun } from './format/run.js';
import { terminalSafe } from './output.js';
import { Timeline, writeRunReport } from './report-files.js';
import type { Session } from './session.js';

/**
 * What `upgrade` and `undo` do around their run: the events go to the session and to a timeline,
 * and at the end the report is written beside the log (JSON and HTML; a report that cannot be
 * written does not change the outcome), printed, its error repeated on stderr, and the exit code
 * decided from it.
 */
export class RunOutput {
  private readonly timeline = new Timeline();

  constructor(private readonly session: Session) {}

  readonly events = (e: UpgradeEvent): void => {
    this.timeline.record(e);
    this.session.events(e);
  };

  finish(report: RunReport, outcome: CommandOutcome, signal?: string): void {
    const { session } = this;
    let files: ReturnType<typeof writeRunReport>;
    try {
      files = session.log ? writeRunReport(dirname(session.log.file), report, this.timeline) : undefined;
    } catch {
      files = undefined;
    }
    session.print(report, () => formatRun(report) + (files ? `report: ${files.html}\n` : ''));
    if (report.error) process.stderr.write(`ldap-upgrade: ${terminalSafe(report.error)}\n`);
    outcome.finish({ kind: 'upgrade', report, signal });
  }
}
