/**
 * Objects in the data bucket. Data moves between pipeline steps as S3 keys, never inline
 * (Step Functions caps a state at 256 KB), so every step reads and writes through these helpers.
 */
import { Readable } from 'node:stream';
import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
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

/** The bytes of an object. @throws NotFoundError when the object does not exist. */
export async function getBytes(bucket: string, key: string): Promise<Uint8Array> {
  try {
    const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await response.Body!.transformToByteArray();
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`);
    }
    throw error;
  }
}

/**
 * An object's bytes as they arrive, for reading without holding the whole object.
 * @throws NotFoundError when the object does not exist.
 */
export async function getStream(bucket: string, key: string): Promise<AsyncIterable<Uint8Array>> {
  try {
    const response = await s3Client().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return response.Body as AsyncIterable<Uint8Array>;
  } catch (error) {
    if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') {
      throw new NotFoundError(`s3://${bucket}/${key} does not exist`);
    }
    throw error;
  }
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
 * Writes an object from byte ranges sent one after another (e.g. `encodeTableParts`), so a large file is
 * never copied into one buffer first.
 */
export async function putParts(
  bucket: string,
  key: string,
  file: { parts: readonly Uint8Array[]; byteLength: number },
  contentType: string,
): Promise<void> {
  await s3Client().send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: Readable.from(file.parts),
      ContentLength: file.byteLength,
      ContentType: contentType,
    }),
  );
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
