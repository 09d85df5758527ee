import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { ApiSignIn } from './api-sign-in.js';
import type { Authenticator } from './authenticator.js';

const request = (authorization: string) => ({ headers: { authorization }, ip: '127.0.0.1' }) as unknown as FastifyRequest;

describe('ApiSignIn', () => {
  it('lets a failure other than wrong credentials through, rather than answering it as 401', async () => {
    const broken = new Error('the database is gone');
    const authenticator = {
      isRepositoryToken: () => false,
      signInWithToken: async () => {
        throw broken;
      },
    } as unknown as Authenticator;
    await assert.rejects(new ApiSignIn(authenticator).caller(request('Bearer berth_pat_anything')), (error) => error === broken);
  });
});
