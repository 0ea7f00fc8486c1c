/**
 * The local runtime's signature check: what the SDK's signer signs passes, and every way of getting it
 * wrong is refused with the reason AWS gives.
 */
import { describe, expect, it } from 'vitest';
import { CLOCK_SKEW_MS, SignatureError, signedHeaders, verifySignature } from '../../local/sigv4.ts';

const credentials = { accessKeyId: 'AKIAEXAMPLE0000000', secretAccessKey: 'install-secret' };
const url = new URL('http://127.0.0.1:3000/models/air-passengers/feedback?x=1');
const now = new Date('2026-12-04T17:00:00Z');
const body = '{"id":"p1","actual":446}';

async function received(overrides: { body?: string; secret?: string; service?: string; at?: Date } = {}) {
  const headers = await signedHeaders(
    { method: 'POST', url, headers: { 'content-type': 'application/json' }, body },
    {
      credentials: { ...credentials, secretAccessKey: overrides.secret ?? credentials.secretAccessKey },
      region: 'us-east-1',
      service: overrides.service ?? 'execute-api',
    },
  );
  // The signer dates the request by the wall clock; the check below is given that date as "now".
  const signedAt =
    overrides.at ??
    new Date(
      `${headers['x-amz-date'].replace(/(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z/, '$1-$2-$3T$4:$5:$6Z')}`,
    );
  return {
    request: {
      method: 'POST',
      path: url.pathname,
      query: url.searchParams,
      headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v])),
      body: Buffer.from(overrides.body ?? body),
    },
    signedAt,
  };
}

describe('verifySignature', () => {
  it('accepts a request signed with the install key pair', async () => {
    // Prepare
    const { request, signedAt } = await received();
    // Act, Assess
    await expect(
      verifySignature(request, { credentials, service: 'execute-api', now: signedAt }),
    ).resolves.toBe(credentials.accessKeyId);
  });

  it.each([
    ['another secret', { secret: 'guessed' }, /does not match/],
    ['a changed body', { body: '{"id":"p1","actual":1e308}' }, /does not match/],
    ['another service', { service: 'lambda' }, /scoped to correct service/],
  ])('refuses a request signed with %s', async (_, overrides, message) => {
    // Prepare
    const { request, signedAt } = await received(overrides);
    // Act
    const check = verifySignature(request, { credentials, service: 'execute-api', now: signedAt });
    // Assess
    await expect(check).rejects.toThrow(SignatureError);
    await expect(check).rejects.toThrow(message);
  });

  it('refuses a replay older than the allowed clock skew, and a request without a signature', async () => {
    // Prepare
    const { request, signedAt } = await received();
    const later = new Date(signedAt.getTime() + CLOCK_SKEW_MS + 1000);
    const { authorization: _, ...unsigned } = request.headers;
    // Act, Assess
    await expect(verifySignature(request, { credentials, now: later })).rejects.toThrow(/expired/);
    await expect(
      verifySignature({ ...request, headers: unsigned }, { credentials, now }),
    ).rejects.toMatchObject({
      missing: true,
    });
  });
});
