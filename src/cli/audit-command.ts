import { Command } from 'commander';
import { AuditLog, auditJson, type AuditFilter, type AuditRecord } from '../audit/audit-log.js';
import { parseSince } from '../audit/audit-phrase.js';
import { withDataDir, withStores } from './data-dir.js';

type AuditFlags = { dataDir?: string; database?: string; org?: string; action?: string[]; actor?: string[]; since?: string; json?: boolean };

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `berth audit`: the security log, oldest first, filtered; `--json` writes JSON lines for export. */
export function auditCommand(): Command {
  return withDataDir(
    new Command('audit')
      .description('print the audit log: sign-ins, tokens, package, organization and administrative changes')
      .option('--org <org>', "only the entries of this organization (or user's)")
      .option('--action <prefix>', 'only these actions: package. (a category), package.delete (one); repeatable', collect)
      .option('--actor <name>', 'only what this user, repository or system actor did; repeatable', collect)
      .option('--since <date>', 'only entries from this date or time on (YYYY-MM-DD or ISO time)')
      .option('--json', 'one JSON object a line, as the API exports them'),
  ).action(async (flags: AuditFlags) => {
    await withStores(flags, async ({ db, accounts }) => {
      const filter: AuditFilter = {};
      if (flags.org !== undefined) {
        const owner = await accounts.find(flags.org);
        if (!owner) throw new Error(`no user or organization ${flags.org}`);
        filter.ownerId = owner.id;
      }
      if (flags.action) filter.actions = flags.action;
      if (flags.actor) filter.actors = flags.actor;
      if (flags.since !== undefined) filter.since = parseSince(flags.since);
      for await (const record of new AuditLog(db).all(filter)) {
        const line = flags.json ? JSON.stringify(auditJson(record)) : describe(record);
        // Respect the pipe's pace: a large log goes to `less` or a file without piling up in memory.
        if (!process.stdout.write(`${line}\n`)) await new Promise((resolve) => process.stdout.once('drain', resolve));
      }
    });
  });
}

function describe(record: AuditRecord): string {
  const actor = record.actor.kind === 'user' ? record.actor.name : `${record.actor.name} (${record.actor.kind.replace('_', ' ')})`;
  const details = Object.keys(record.details).length > 0 ? ` ${JSON.stringify(record.details)}` : '';
  return `${record.createdAt}  ${actor}  ${record.action}  ${record.target}${record.clientAddress ? `  from ${record.clientAddress}` : ''}${details}`;
}
