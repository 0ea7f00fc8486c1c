/**
 * Objects in the data bucket. Data moves between pipeline steps as S3 keys, never inline
 * (Step Functions caps a state at 256 KB), so every step reads and writes through these helpers.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { s3Client } from './clients.ts';
import { NotFoundError } from './errors.ts';

/** Where every driftline object lives in the bucket, in one place. */
export const keys = {
  incomingPrefix: (model: string) => `incoming/${model}/`,
  /** A run's merged dataset, as a validated table (`encodeTable`). */
  dataset: (model: string, runId: string) => `datasets/${model}/${runId}.table`,
  /** The validated table of the drop a run validated (`encodeTable`). */
  dropTable: (model: string, runId: string) => `tables/${model}/${runId}.table`,
  /** Which drops a run's dataset merged (its lineage manifest, next to the dataset). */
  datasetDrops: (model: string, runId: string) => `datasets/${model}/${runId}.drops.json`,
  run: (model: string, runId: string, name: string) => `runs/${model}/${runId}/${name}`,
  model: (model: string, runId: string) => `models/${model}/${runId}/model.bin`,
  report: (model: string) => `reports/${model}/index.html`,
};

/**
 * The ETag of an object (changes whenever its bytes do), or undefined when it does not exist.
 */
export async function objectEtag(bucket: string, key: string): Promise<string | undefined> {
  try {
    return (await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ETag;
  } catch (error) {
    if (error instanceof NotFound || (error as Error).name === 'NotFound') return undefined;
    throw error;
  }
}

/** A GetObject response, its body not read yet. @throws NotFoundError when the object does not exist. */
async function getObject(bucket: string, key: string, versionId?: string): Promise<GetObjectCommandOutput> {
  try {
    return await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key, VersionId: versionId }));
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`);
    }
    throw error;
  }
}

/** The bytes of an object. @throws NotFoundError when the object does not exist. */
export async function getBytes(bucket: string, key: string): Promise<Uint8Array> {
  return (await getObject(bucket, key)).Body!.transformToByteArray();
}

/**
 * An object's bytes and ETag, with the sha256 of the bytes computed as they arrive, so checking a large
 * artifact costs no time after its last byte; the bytes fill one buffer of the object's length in place
 * (no chunk list concatenated at the end).
 * @throws NotFoundError when the object does not exist.
 */
export async function getObjectHashed(
  bucket: string,
  key: string,
): Promise<{ bytes: Uint8Array; etag?: string; sha256: string }> {
  const response = await getObject(bucket, key);
  const length = response.ContentLength ?? 0;
  // Every byte is written before it is read: no need to zero it first (and never a slice of the pool).
  const bytes = Buffer.allocUnsafeSlow(length);
  const hash = createHash('sha256');
  let received = 0;
  for await (const chunk of response.Body as AsyncIterable<Uint8Array>) {
    if (received + chunk.length > length)
      throw new Error(`s3://${bucket}/${key} sent more than its ${length} bytes`);
    bytes.set(chunk, received);
    hash.update(chunk);
    received += chunk.length;
  }
  if (received !== length)
    throw new Error(`s3://${bucket}/${key} ended after ${received} of its ${length} bytes`);
  return { bytes, etag: response.ETag, sha256: hash.digest('hex') };
}

/**
 * One write of an object, as it arrives: the version `write.versionId` where the bucket keeps versions,
 * else the object as it is now, if it is still the write whose ETag is `write.etag` (an empty ETag
 * checks nothing).
 * @returns the bytes, or undefined when the object has been overwritten with other bytes since.
 * @throws NotFoundError when the object (or the version) does not exist.
 */
export async function getWriteStream(
  bucket: string,
  key: string,
  write: { versionId?: string; etag: string },
): Promise<AsyncIterable<Uint8Array> | undefined> {
  const response = await getObject(bucket, key, write.versionId);
  const body = response.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
  if (
    write.versionId === undefined &&
    write.etag !== '' &&
    response.ETag?.replaceAll('"', '') !== write.etag
  ) {
    body.destroy?.();
    return undefined;
  }
  return body;
}

export async function getText(bucket: string, key: string): Promise<string> {
  return Buffer.from(await getBytes(bucket, key)).toString('utf8');
}

export async function getJson<T>(bucket: string, key: string): Promise<T> {
  return JSON.parse(await getText(bucket, key)) as T;
}

export async function putBytes(
  bucket: string,
  key: string,
  body: Uint8Array | string,
  contentType: string,
): Promise<void> {
  await s3Client().send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
  );
}

/**
 * The bytes of an upload's parts: `ranges` cut into `partBytes`-byte pieces (the last one shorter), each
 * a view of one range where it lies inside it and a copy only where it spans several, made as they are
 * taken, so at most the parts in flight are ever copied.
 */
export function* uploadParts(ranges: readonly Uint8Array[], partBytes: number): Generator<Uint8Array> {
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for (const range of ranges) {
    let offset = 0;
    while (offset < range.length) {
      const take = Math.min(partBytes - pendingBytes, range.length - offset);
      pending.push(range.subarray(offset, offset + take));
      pendingBytes += take;
      offset += take;
      if (pendingBytes === partBytes) {
        yield pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
      }
    }
  }
  if (pendingBytes > 0) yield pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
}

/** Bytes per part of {@link putParts}' uploads: S3 takes 5 MiB to 5 GiB for every part but the last. */
export const PART_BYTES = 8 * 2 ** 20;
/** Parts of one upload in flight at once. */
const PART_CONCURRENCY = 4;

/**
 * Writes an object from byte ranges sent one after another (e.g. `encodeTableParts`), so a large file is
 * never copied into one buffer first. Every request body is one byte array, not a stream, so the SDK can
 * send it again when it retries a request (a stream is spent by the first attempt): a file of more than
 * one {@link PART_BYTES} part is a multipart upload of {@link uploadParts}, at most a few parts copied at
 * a time. A failed upload is aborted, so no parts are left behind; a retried call starts a new one.
 */
export async function putParts(
  bucket: string,
  key: string,
  file: { parts: readonly Uint8Array[]; byteLength: number },
  contentType: string,
): Promise<void> {
  if (file.byteLength <= PART_BYTES) {
    await putBytes(bucket, key, Buffer.concat(file.parts, file.byteLength), contentType);
    return;
  }
  const s3 = s3Client();
  // One checksum algorithm named on the upload and on every part, and each part's checksum repeated on
  // completion: what S3 requires once parts carry checksums (the SDK adds them by default on AWS).
  const { UploadId } = await s3.send(
    new CreateMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      ContentType: contentType,
      ChecksumAlgorithm: 'CRC32',
    }),
  );
  try {
    const parts = uploadParts(file.parts, PART_BYTES);
    const uploaded: { PartNumber: number; ETag?: string; ChecksumCRC32?: string }[] = [];
    let next = 1;
    let failed = false;
    const upload = async () => {
      for (let part = parts.next(); !part.done && !failed; part = parts.next()) {
        const PartNumber = next++;
        const { ETag, ChecksumCRC32 } = await s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId,
            PartNumber,
            Body: part.value,
            ChecksumAlgorithm: 'CRC32',
          }),
        );
        uploaded.push({ PartNumber, ETag, ...(ChecksumCRC32 ? { ChecksumCRC32 } : {}) });
      }
    };
    // The first failure stops the other uploaders from taking more parts.
    await Promise.all(
      Array.from({ length: PART_CONCURRENCY }, () =>
        upload().catch((error: unknown) => {
          failed = true;
          throw error;
        }),
      ),
    );
    uploaded.sort((a, b) => a.PartNumber - b.PartNumber);
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: uploaded },
      }),
    );
  } catch (error) {
    await s3
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId }))
      .catch(() => undefined);
    throw error;
  }
}

export async function putJson(bucket: string, key: string, value: unknown): Promise<void> {
  await putBytes(bucket, key, JSON.stringify(value), 'application/json');
}

/** Size and ETag of an object, or undefined when it does not exist. */
export async function headObject(
  bucket: string,
  key: string,
): Promise<{ size: number; etag: string } | undefined> {
  try {
    const head = await s3Client().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return { size: head.ContentLength ?? 0, etag: (head.ETag ?? '').replaceAll('"', '') };
  } catch (error) {
    if (error instanceof NotFound || (error as Error).name === 'NotFound') return undefined;
    throw error;
  }
}
