import { createHash } from 'node:crypto';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Client } from '../../lambdas/shared/clients.ts';
import { NotFoundError } from '../../lambdas/shared/errors.ts';
import {
  getBytes,
  getObjectHashed,
  headObject,
  objectEtag,
  PART_BYTES,
  putBytes,
  putParts,
  uploadParts,
} from '../../lambdas/shared/storage.ts';
import { startTestEmulators, type TestEmulators } from '../support/emulators.ts';

const BUCKET = 'storage-test';
let emulators: TestEmulators;

beforeAll(async () => {
  emulators = await startTestEmulators();
  await s3Client().send(new CreateBucketCommand({ Bucket: BUCKET }));
});
afterAll(async () => emulators.close());

describe('uploadParts', () => {
  it('cuts byte ranges into parts of one size, viewing a range where a part lies inside it', () => {
    // Prepare
    const a = Uint8Array.from({ length: 10 }, (_, i) => i);
    const b = Uint8Array.from({ length: 3 }, (_, i) => 10 + i);
    // Act
    const parts = [...uploadParts([a, b], 4)];
    // Assess
    expect(parts.map((part) => Array.from(part))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12]]);
    expect(parts[0].buffer).toBe(a.buffer);
    expect(parts[1].buffer).toBe(a.buffer);
    expect(parts[2].buffer).not.toBe(a.buffer);
  });
});

describe('putParts', () => {
  it('writes a file of several parts whose every request survives a retry', async () => {
    // Prepare: three ranges whose ends fall inside parts, 2.5 parts in all.
    const ranges = [
      new Uint8Array(PART_BYTES - 5).fill(1),
      new Uint8Array(PART_BYTES + 10).fill(2),
      new Uint8Array(PART_BYTES / 2 - 5).fill(3),
    ];
    const byteLength = ranges.reduce((sum, range) => sum + range.length, 0);
    // The first attempt of every request with a body reads the body and fails as a dropped connection
    // would; the SDK then retries with the same body. A stream body is spent by then.
    const failed = new Set<string>();
    const client = s3Client();
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { method: string; path: string; query?: object; body?: unknown };
        const id = `${request.method} ${request.path} ${JSON.stringify(request.query)}`;
        if (request.body !== undefined && request.method === 'PUT' && !failed.has(id)) {
          failed.add(id);
          const body = request.body as AsyncIterable<unknown> | Uint8Array;
          if (Symbol.asyncIterator in body) for await (const _ of body);
          throw Object.assign(new Error('connection reset (injected)'), {
            name: 'InternalError',
            $metadata: { httpStatusCode: 500 },
            $retryable: {},
          });
        }
        return next(args);
      },
      { step: 'deserialize', name: 'failFirstAttempt', priority: 'low' },
    );
    // Act
    try {
      await putParts(BUCKET, 'big.bin', { parts: ranges, byteLength }, 'application/octet-stream');
    } finally {
      client.middlewareStack.remove('failFirstAttempt');
    }
    // Assess
    // Three parts, each sent twice.
    expect([...failed].filter((id) => id.includes('"partNumber":')).length).toBe(3);
    const back = await getBytes(BUCKET, 'big.bin');
    expect(back.length).toBe(byteLength);
    expect(Buffer.compare(Buffer.from(back), Buffer.concat(ranges))).toBe(0);
  });

  it('writes a small file in one request', async () => {
    // Act
    await putParts(
      BUCKET,
      'small.bin',
      { parts: [Uint8Array.of(1, 2), Uint8Array.of(3)], byteLength: 3 },
      'x',
    );
    // Assess
    expect(Array.from(await getBytes(BUCKET, 'small.bin'))).toEqual([1, 2, 3]);
    expect((await headObject(BUCKET, 'small.bin'))?.size).toBe(3);
  });
});

describe('getObjectHashed', () => {
  it("reads an object's bytes with its ETag and the sha256 of exactly those bytes", async () => {
    // Prepare: an object of several network chunks.
    const body = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251);
    await putBytes(BUCKET, 'hashed/object.bin', body, 'application/octet-stream');
    // Act
    const read = await getObjectHashed(BUCKET, 'hashed/object.bin');
    // Assess
    expect(Buffer.from(read.bytes).equals(Buffer.from(body))).toBe(true);
    expect(read.sha256).toBe(createHash('sha256').update(body).digest('hex'));
    expect(read.etag).toBe(await objectEtag(BUCKET, 'hashed/object.bin'));
    await expect(getObjectHashed(BUCKET, 'hashed/missing.bin')).rejects.toThrow(NotFoundError);
  });
});
