import type { FastifyInstance } from 'fastify';

/** A browser signed in to the web pages: the cookie header it sends, and its CSRF value for forms. */
export interface WebSession {
  cookie: string;
  csrf: string;
}

/**
 * Signs a browser in through `/login` with a password, as a person does: the CSRF cookie from the
 * form's page, then the form. Throws when the sign-in is refused.
 */
export async function webSignIn(app: FastifyInstance, username: string, password: string): Promise<WebSession> {
  const login = await app.inject({ method: 'GET', url: '/login' });
  const csrf = /berth_csrf=([^;]+)/.exec(String(login.headers['set-cookie']))?.[1] ?? '';
  const signedIn = await app.inject({
    method: 'POST',
    url: '/login',
    headers: { cookie: `berth_csrf=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ csrf, username, password }).toString(),
  });
  const session = /berth_session=([^;]+)/.exec(String(signedIn.headers['set-cookie']))?.[1];
  if (signedIn.statusCode !== 303 || !session) throw new Error(`${username} could not sign in: ${signedIn.statusCode}`);
  return { cookie: `berth_csrf=${csrf}; berth_session=${session}`, csrf };
}
