import { describe, expect, it } from 'vitest';
import {
  compilePattern,
  type EventBridgeEvent,
  EventBus,
  EventPatternError,
  type EventRule,
  InvalidEventError,
  matchesPattern,
  parseSchedule,
  renderInputTemplate,
  type S3NotificationRecord,
  ScheduleExpressionError,
  s3RecordToEvent,
  targetInput,
  valueAtPath,
} from '../../local/eventbridge.ts';
import type { LogSink } from '../../local/log.ts';

const silent: LogSink = { line: () => undefined };

// The example event of AWS's "Content filtering in Amazon EventBridge event patterns" page, with the
// detail fields its examples filter on.
const ec2Event = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: [
    'arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f',
    'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
    'arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f',
  ],
  detail: {
    'instance-id': 'i-1234567890abcdef0',
    state: 'terminated',
    'c-count': 5,
    'd-count': 7,
    'x-limit': 301.8,
    sourceIPAddress: '10.0.0.255',
    FileName: 'dir/logo.png',
    FilePath: '/usr/lib/node',
    responseElements: null,
    eventVersion: '',
    tags: [
      { key: 'team', value: 'ml' },
      { key: 'env', value: 'dev' },
    ],
  },
};

describe('compilePattern: the EventBridge pattern language (examples from the AWS docs)', () => {
  const table: [string, Record<string, unknown>, boolean][] = [
    ['exact value', { source: ['aws.ec2'] }, true],
    ['exact value, no match', { source: ['aws.s3'] }, false],
    ['array of values is OR', { source: ['aws.s3', 'aws.ec2'] }, true],
    ['several fields are AND', { source: ['aws.ec2'], 'detail-type': ['Object Created'] }, false],
    ['nested detail field', { detail: { state: ['terminated'] } }, true],
    [
      'event array matches when any element matches',
      { resources: ['arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f'] },
      true,
    ],
    ['number compares by value', { detail: { 'c-count': [5.0] } }, true],
    ['a number never equals a string', { detail: { 'c-count': ['5'] } }, false],
    ['null matches a null field', { detail: { responseElements: [null] } }, true],
    ['empty string matches an empty field', { detail: { eventVersion: [''] } }, true],
    ['null does not match a missing field', { detail: { missing: [null] } }, false],
    ['prefix', { time: [{ prefix: '2017-12-22' }] }, true],
    ['prefix, no match', { time: [{ prefix: '2017-10-02' }] }, false],
    ['prefix with equals-ignore-case', { source: [{ prefix: { 'equals-ignore-case': 'AWS.EC' } }] }, true],
    ['suffix', { detail: { FileName: [{ suffix: '.png' }] } }, true],
    ['suffix, no match', { detail: { FileName: [{ suffix: '.jpg' }] } }, false],
    [
      'suffix with equals-ignore-case',
      { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.PNG' } }] } },
      true,
    ],
    ['anything-but a value', { detail: { state: [{ 'anything-but': 'initializing' }] } }, true],
    ['anything-but the value itself', { detail: { state: [{ 'anything-but': 'terminated' }] } }, false],
    ['anything-but a list', { detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } }, true],
    [
      'anything-but a list holding it',
      { detail: { state: [{ 'anything-but': ['stopped', 'terminated'] }] } },
      false,
    ],
    ['anything-but a number', { detail: { 'c-count': [{ 'anything-but': [100, 200] }] } }, true],
    ['anything-but prefix', { detail: { state: [{ 'anything-but': { prefix: 'init' } }] } }, true],
    ['anything-but prefix, excluded', { detail: { state: [{ 'anything-but': { prefix: 'term' } }] } }, false],
    ['anything-but suffix', { detail: { FileName: [{ 'anything-but': { suffix: '.txt' } }] } }, true],
    [
      'anything-but wildcard, excluded',
      { detail: { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] } },
      false,
    ],
    [
      'anything-but equals-ignore-case, excluded',
      { detail: { state: [{ 'anything-but': { 'equals-ignore-case': ['Stopped', 'TERMINATED'] } }] } },
      false,
    ],
    ['anything-but needs the field', { detail: { missing: [{ 'anything-but': 'x' }] } }, false],
    [
      'numeric ranges (the docs example)',
      {
        detail: {
          'c-count': [{ numeric: ['>', 0, '<=', 5] }],
          'd-count': [{ numeric: ['<', 10] }],
          'x-limit': [{ numeric: ['=', 3.018e2] }],
        },
      },
      true,
    ],
    ['numeric, outside the range', { detail: { 'c-count': [{ numeric: ['>', 5] }] } }, false],
    ['numeric never matches a string', { detail: { state: [{ numeric: ['>', 0] }] } }, false],
    ['cidr', { detail: { sourceIPAddress: [{ cidr: '10.0.0.0/24' }] } }, true],
    ['cidr, outside', { detail: { sourceIPAddress: [{ cidr: '10.0.1.0/24' }] } }, false],
    ['exists true', { detail: { state: [{ exists: true }] } }, true],
    ['exists false on a missing field', { detail: { 'e-count': [{ exists: false }] } }, true],
    ['exists false on a present field', { detail: { state: [{ exists: false }] } }, false],
    ['exists is for leaves, not objects', { detail: [{ exists: true }] }, false],
    [
      'equals-ignore-case',
      { 'detail-type': [{ 'equals-ignore-case': 'ec2 instance state-change notification' }] },
      true,
    ],
    ['wildcard', { resources: [{ wildcard: 'arn:aws:ec2:us-east-1:*:instance/*' }] }, true],
    ['wildcard, no match', { resources: [{ wildcard: 'arn:aws:s3:::*' }] }, false],
    ['wildcard escapes a literal star', { detail: { state: [{ wildcard: 'term\\*' }] } }, false],
    [
      '$or (the docs example)',
      {
        detail: {
          $or: [{ 'c-count': [{ numeric: ['>', 10] }] }, { 'd-count': [{ numeric: ['<', 10] }] }],
        },
      },
      true,
    ],
    ['$or with no alternative matching', { $or: [{ source: ['a'] }, { source: ['b'] }] }, false],
    ['arrays of objects are flattened', { detail: { tags: { key: ['env'] } } }, true],
    ['a missing nested object does not match', { detail: { nothing: { here: ['x'] } } }, false],
  ];

  it.each(table)('%s', (_, pattern, expected) => {
    expect(matchesPattern(pattern, ec2Event)).toBe(expected);
  });

  it('matches the S3 drop rule of the stack against an Object Created event and nothing else', () => {
    // Prepare
    const drop = compilePattern({
      source: ['aws.s3'],
      'detail-type': ['Object Created'],
      detail: { bucket: { name: ['data'] }, object: { key: [{ prefix: 'incoming/' }] } },
    });
    const event = (bucket: string, key: string, type = 'Object Created') => ({
      source: 'aws.s3',
      'detail-type': type,
      detail: { bucket: { name: bucket }, object: { key } },
    });

    // Assess
    expect(drop(event('data', 'incoming/air/v1.csv'))).toBe(true);
    expect(drop(event('data', 'models/air/model.bin'))).toBe(false);
    expect(drop(event('logs', 'incoming/air/v1.csv'))).toBe(false);
    expect(drop(event('data', 'incoming/air/v1.csv', 'Object Deleted'))).toBe(false);
  });

  it.each([
    ['a leaf that is not an array', { source: 'aws.s3' }, /"source" must be an object or an array/],
    ['an empty array', { source: [] }, /"source": an empty array matches nothing/],
    ['an unknown operator', { source: [{ 'starts-with': 'a' }] }, /unknown matcher "starts-with"/],
    ['a malformed numeric', { detail: { n: [{ numeric: ['>>', 1] }] } }, /numeric takes/],
    ['exists with a string', { a: [{ exists: 'yes' }] }, /exists takes true or false/],
    ['a matcher with two keys', { a: [{ prefix: 'a', suffix: 'b' }] }, /exactly one key/],
    ['an empty pattern', {}, /the pattern is empty/],
    ['$or with one alternative', { $or: [{ a: [1] }] }, /\$or takes an array of at least two/],
  ])('refuses %s', (_, pattern, message) => {
    expect(() => compilePattern(pattern)).toThrow(EventPatternError);
    expect(() => compilePattern(pattern)).toThrow(message);
  });
});

describe('targets', () => {
  const rule: EventRule = {
    name: 'r',
    arn: 'arn:aws:events:us-east-1:000000000000:rule/r',
    enabled: true,
    targets: [],
  };
  const event = ec2Event as unknown as EventBridgeEvent;

  it('reads simple JSONPaths', () => {
    expect(valueAtPath(event, '$')).toBe(event);
    expect(valueAtPath(event, '$.detail.state')).toBe('terminated');
    expect(valueAtPath(event, "$.detail['instance-id']")).toBe('i-1234567890abcdef0');
    expect(valueAtPath(event, '$.resources[1]')).toBe(
      'arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f',
    );
    expect(valueAtPath(event, '$.detail.nope.deeper')).toBeUndefined();
  });

  it('renders input templates as AWS documents: quoted inside strings, JSON values outside', () => {
    // The InputTransformer examples of the EventBridge user guide.
    const variables = { instance: 'i-0123456789', state: 'RUNNING', count: 3 };
    expect(renderInputTemplate('{"instance": <instance>, "state": <state>}', variables)).toBe(
      '{"instance": "i-0123456789", "state": "RUNNING"}',
    );
    expect(renderInputTemplate('"instance <instance> is in <state>"', variables)).toBe(
      '"instance i-0123456789 is in RUNNING"',
    );
    expect(
      renderInputTemplate('{"n": <count>, "text": "<count> items", "keep": "<unknown>"}', variables),
    ).toBe('{"n": 3, "text": "3 items", "keep": "<unknown>"}');
  });

  it('gives a target the event, its constant Input, its InputPath or its transformed input', () => {
    expect(JSON.parse(targetInput(event, { id: 't', arn: 'x' }, rule))).toEqual(event);
    expect(targetInput(event, { id: 't', arn: 'x', input: '{"fixed":true}' }, rule)).toBe('{"fixed":true}');
    expect(JSON.parse(targetInput(event, { id: 't', arn: 'x', inputPath: '$.detail.state' }, rule))).toBe(
      'terminated',
    );
    const transformed = targetInput(
      event,
      {
        id: 't',
        arn: 'x',
        inputTransformer: {
          inputPathsMap: { id: '$.detail.instance-id' },
          inputTemplate: '{"instance": <id>, "rule": <aws.events.rule-name>}',
        },
      },
      rule,
    );
    expect(JSON.parse(transformed)).toEqual({ instance: 'i-1234567890abcdef0', rule: 'r' });
  });
});

describe('parseSchedule', () => {
  it('reads rate expressions in minutes, hours and days', () => {
    expect(parseSchedule('rate(1 minute)')).toEqual({ kind: 'rate', everyMs: 60_000 });
    expect(parseSchedule('rate(5 minutes)')).toEqual({ kind: 'rate', everyMs: 300_000 });
    expect(parseSchedule('rate(2 hours)')).toEqual({ kind: 'rate', everyMs: 7_200_000 });
    expect(parseSchedule('rate(7 days)')).toEqual({ kind: 'rate', everyMs: 604_800_000 });
  });

  it('matches six-field cron expressions in UTC, with names, ranges and steps', () => {
    // Prepare: 2024-01-01 was a Monday.
    const noon = parseSchedule('cron(0 12 * * ? *)');
    const weekdaysQuarterly = parseSchedule('cron(0/15 9-17 ? * MON-FRI *)');
    const at = (iso: string) => new Date(iso);
    if (noon.kind !== 'cron' || weekdaysQuarterly.kind !== 'cron') throw new Error('expected cron schedules');

    // Assess
    expect(noon.matches(at('2024-01-01T12:00:00Z'))).toBe(true);
    expect(noon.matches(at('2024-01-01T12:01:00Z'))).toBe(false);
    expect(weekdaysQuarterly.matches(at('2024-01-01T10:45:00Z'))).toBe(true);
    expect(weekdaysQuarterly.matches(at('2024-01-01T10:50:00Z'))).toBe(false);
    expect(weekdaysQuarterly.matches(at('2024-01-07T10:45:00Z'))).toBe(false); // a Sunday
  });

  it.each([
    'cron(0 12 L * ? *)',
    'cron(0 12 * * 2#1 *)',
    'cron(0 12 * *)',
    'every day',
    'rate(0 minutes)',
    'cron(61 * * * ? *)',
  ])('refuses %s', (expression) => {
    expect(() => parseSchedule(expression)).toThrow(ScheduleExpressionError);
  });
});

describe('s3RecordToEvent', () => {
  const record = (eventName: string, object: S3NotificationRecord['s3']['object']): S3NotificationRecord => ({
    eventName,
    eventTime: '2024-05-01T10:20:30.456Z',
    requestParameters: { sourceIPAddress: '::ffff:127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'REQ123' },
    s3: { bucket: { name: 'data' }, object },
  });
  const where = { account: '000000000000', region: 'us-east-1' };

  it('turns a put into the Object Created event S3 sends to EventBridge', () => {
    // Act
    const event = s3RecordToEvent(
      record('ObjectCreated:Put', { key: 'incoming/air/v1.csv', size: 42, eTag: 'abc123', sequencer: '18F' }),
      where,
    );

    // Assess: the field set of the AWS S3 user guide's "Object Created" example.
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      'detail-type': 'Object Created',
      source: 'aws.s3',
      account: '000000000000',
      time: '2024-05-01T10:20:30Z',
      region: 'us-east-1',
      resources: ['arn:aws:s3:::data'],
      detail: {
        version: '0',
        bucket: { name: 'data' },
        object: { key: 'incoming/air/v1.csv', size: 42, etag: 'abc123', sequencer: '18F' },
        'request-id': 'REQ123',
        requester: '000000000000',
        'source-ip-address': '127.0.0.1',
        reason: 'PutObject',
      },
    });
  });

  it('names the reason of copies and multipart uploads, and turns deletes into Object Deleted', () => {
    const copy = s3RecordToEvent(record('ObjectCreated:Copy', { key: 'k', size: 1, eTag: 'e' }), where);
    const multipart = s3RecordToEvent(
      record('ObjectCreated:Post', { key: 'k', size: 1, eTag: 'e-3' }),
      where,
    );
    const deleted = s3RecordToEvent(record('ObjectRemoved:Delete', { key: 'k', sequencer: '1' }), where);

    expect(copy?.detail).toMatchObject({ reason: 'CopyObject' });
    expect(multipart?.detail).toMatchObject({ reason: 'CompleteMultipartUpload' });
    expect(deleted?.['detail-type']).toBe('Object Deleted');
    expect(deleted?.detail).toMatchObject({
      reason: 'DeleteObject',
      'deletion-type': 'Permanently Deleted',
      object: { key: 'k' },
    });
  });
});

describe('EventBus', () => {
  const rules: EventRule[] = [
    {
      name: 'drops',
      arn: 'arn:rule/drops',
      enabled: true,
      eventPattern: { source: ['app'] },
      targets: [{ id: 'sfn', arn: 'arn:sfn' }],
    },
    {
      name: 'off',
      arn: 'arn:rule/off',
      enabled: false,
      eventPattern: { source: ['app'] },
      targets: [{ id: 'x', arn: 'arn:x' }],
    },
    {
      name: 'nightly',
      arn: 'arn:rule/nightly',
      enabled: true,
      scheduleExpression: 'rate(1 day)',
      targets: [{ id: 'fn', arn: 'arn:fn', input: '{"scheduled":true}' }],
    },
  ];

  it('delivers a put event to the targets of enabled matching rules, with the full event', async () => {
    // Prepare
    const delivered: { target: string; input: unknown }[] = [];
    const bus = new EventBus({
      account: '000000000000',
      region: 'us-east-1',
      rules,
      log: silent,
      deliver: async (target, input) => {
        delivered.push({ target: target.id, input: JSON.parse(input) });
        return `started ${target.id}`;
      },
    });

    // Act
    const result = await bus.put({ source: 'app', 'detail-type': 'Thing Happened', detail: { n: 1 } });
    const unmatched = await bus.put({ source: 'other', 'detail-type': 'x' });

    // Assess
    expect(result.deliveries).toEqual([{ rule: 'drops', target: 'sfn', result: 'started sfn' }]);
    expect(delivered[0].input).toEqual({
      version: '0',
      id: result.event.id,
      'detail-type': 'Thing Happened',
      source: 'app',
      account: '000000000000',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      region: 'us-east-1',
      resources: [],
      detail: { n: 1 },
    });
    expect(unmatched.deliveries).toEqual([]);
  });

  it('fires a schedule rule to its own targets only, and reports failed deliveries', async () => {
    const bus = new EventBus({
      account: '000000000000',
      region: 'us-east-1',
      rules,
      log: silent,
      deliver: async (target) => {
        throw new Error(`${target.id} is down`);
      },
    });

    const fired = await bus.fireSchedule('nightly');

    expect(fired.event).toMatchObject({
      source: 'aws.events',
      'detail-type': 'Scheduled Event',
      resources: ['arn:rule/nightly'],
    });
    expect(fired.deliveries).toEqual([{ rule: 'nightly', target: 'fn', error: 'Error: fn is down' }]);
    await expect(bus.fireSchedule('drops')).rejects.toThrow(InvalidEventError);
  });

  it('refuses malformed events and names the rule of an invalid pattern', async () => {
    const deliver = async () => 'ok';
    const bus = new EventBus({ account: '0', region: 'r', rules, log: silent, deliver });

    await expect(bus.put({ source: '', 'detail-type': 'x' })).rejects.toThrow(InvalidEventError);
    await expect(bus.put({ source: 'a', 'detail-type': 'x', detail: [1] })).rejects.toThrow(
      'detail must be a JSON object',
    );
    expect(
      () =>
        new EventBus({
          account: '0',
          region: 'r',
          log: silent,
          deliver,
          rules: [{ name: 'broken', arn: 'a', enabled: true, eventPattern: { source: 'x' }, targets: [] }],
        }),
    ).toThrow('rule broken: "source" must be an object or an array');
  });
});
