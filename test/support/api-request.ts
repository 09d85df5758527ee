import type { LightMyRequestResponse } from 'fastify';
import type { Berth } from '../../src/server.js';

export type ApiMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A request to Berth's JSON API (`/api/...`) in process, as `Bearer token` when a token is given,
 * with `payload` as its JSON body (a string is sent as it is, for bodies that are not JSON).
 */
export function apiRequest(app: { berth: Berth }, method: ApiMethod, url: string, token?: string, payload?: object | string): Promise<LightMyRequestResponse> {
  return app.berth.app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(payload !== undefined ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) } : {}),
  });
}
