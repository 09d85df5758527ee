import type { AuditRecord } from '../../audit/audit-log.js';
import { Layout, type PageContext } from '../layout.js';
import { Table } from '../table.js';

/** `/admin/audit-log`: the latest entries of the security log; the API and `berth audit` filter and export. */
export function AuditLogPage({ context, entries }: { context: PageContext; entries: AuditRecord[] }) {
  return (
    <Layout context={context} title="Audit log">
      <h1>Audit log</h1>
      <p class="muted">
        The latest {entries.length} entries. Filter and export with <code>GET /api/admin/audit-log</code> or <code>berth audit</code>.
      </p>
      <Table label="Audit log" columns={['Time', 'Actor', 'Action', 'Target', 'Address']}>
        {entries.map((entry) => (
          <tr>
            <td>{entry.createdAt.replace('T', ' ').slice(0, 19)}</td>
            <td>
              {entry.actor.name}
              {entry.actor.kind !== 'user' && <span class="muted"> ({entry.actor.kind.replace('_', ' ')})</span>}
            </td>
            <td>
              <code>{entry.action}</code>
            </td>
            <td>{entry.target}</td>
            <td>{entry.clientAddress ?? ''}</td>
          </tr>
        ))}
      </Table>
    </Layout>
  );
}
