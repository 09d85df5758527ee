import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AccountService } from '../accounts/account-service.js';
import type { AuditLog } from '../audit/audit-log.js';
import { AccountConflictError, AccountNotFoundError } from '../accounts/errors.js';
import { InvalidNameError, parseAccountName } from '../accounts/names.js';
import { hashPassword, randomPassword } from '../auth/passwords.js';
import type { PageContext } from './layout.js';
import type { PageKit } from './page-kit.js';
import { AdminPage, type AdminPageProps } from './pages/admin.js';
import { AuditLogPage } from './pages/audit-log.js';

/** `/admin`: site administrators only; to anyone else it does not exist. */
export async function adminPages(app: FastifyInstance, kit: PageKit, options: { accounts: AccountService; audit: AuditLog }): Promise<void> {
  const { accounts } = options;

  /** The viewer's context when they are a site administrator; otherwise the 404 page is sent. */
  const adminContext = async (request: FastifyRequest, reply: FastifyReply): Promise<PageContext | undefined> => {
    const context = await kit.requireViewer(request, reply);
    if (!context) return undefined;
    if (context.viewer.isAdmin) return context;
    await kit.notFound(request, reply);
    return undefined;
  };

  const page = async (request: FastifyRequest, reply: FastifyReply, context: PageContext, status: number, extra: Pick<AdminPageProps, 'created' | 'notice'> = {}) =>
    kit.sendPage(request, reply, status, <AdminPage context={context} users={await accounts.list('user')} orgs={await accounts.list('org')} {...extra} />);

  /** What each user action of the page does, and how the page then says it. */
  const userChanges = new Map<string, { change: (name: string) => Promise<{ name: string }>; done: string }>([
    ['suspend', { change: (name) => accounts.setSuspended(name, true), done: 'is suspended' }],
    ['unsuspend', { change: (name) => accounts.setSuspended(name, false), done: 'may sign in again' }],
    ['make-admin', { change: (name) => accounts.setAdmin(name, true), done: 'is a site administrator' }],
    ['remove-admin', { change: (name) => accounts.setAdmin(name, false), done: 'is no longer a site administrator' }],
  ]);

  app.get('/admin', async (request, reply) => {
    const context = await adminContext(request, reply);
    return context ? page(request, reply, context, 200) : reply;
  });

  app.get('/admin/audit-log', async (request, reply) => {
    const context = await adminContext(request, reply);
    if (!context) return reply;
    const { items } = await options.audit.page({}, 100, 0);
    return kit.sendPage(request, reply, 200, <AuditLogPage context={context} entries={items} />);
  });

  // A suspended user's credentials stop working at once; nothing of theirs is deleted. An
  // administrator can neither suspend themselves nor take away their own rights, so that one
  // always remains to undo it.
  app.post('/admin/users/:name/:action', async (request, reply) => {
    const form = await kit.formOf(request);
    if (!form) return kit.refuseForm(reply);
    const context = await adminContext(request, reply);
    if (!context) return reply;
    const { name, action } = request.params as { name: string; action: string };
    const userChange = userChanges.get(action);
    if (!userChange || name.toLowerCase() === context.viewer?.name.toLowerCase()) return kit.notFound(request, reply);
    try {
      const user = await userChange.change(name);
      return page(request, reply, context, 200, { notice: { kind: 'ok', text: `${user.name} ${userChange.done}.` } });
    } catch (error) {
      if (error instanceof AccountNotFoundError) return kit.notFound(request, reply);
      throw error;
    }
  });

  app.post('/admin/:what', async (request, reply) => {
    const form = await kit.formOf(request);
    if (!form) return kit.refuseForm(reply);
    const context = await adminContext(request, reply);
    if (!context) return reply;
    try {
      const what = (request.params as { what: string }).what;
      if (what === 'users') {
        const name = parseAccountName((form.get('name') ?? '').trim(), 'user');
        const password = randomPassword();
        await accounts.createUser(name, { passwordHash: await hashPassword(password), isAdmin: form.get('admin') === 'yes' });
        return page(request, reply, context, 201, { created: { name, password } });
      }
      if (what === 'orgs') {
        await accounts.createOrg(parseAccountName((form.get('name') ?? '').trim(), 'organization'), (form.get('owner') ?? '').trim());
        return kit.redirect(reply, '/admin');
      }
      return kit.notFound(request, reply);
    } catch (error) {
      if (error instanceof AccountConflictError || error instanceof AccountNotFoundError || error instanceof InvalidNameError) {
        return page(request, reply, context, 409, { notice: { kind: 'error', text: error.message } });
      }
      throw error;
    }
  });
}
