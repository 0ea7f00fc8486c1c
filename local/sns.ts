/**
 * Local SNS topics: `Publish` records the notification (tests read the list), prints it on the console and
 * delivers it to the topic's Lambda subscriptions with the event shape SNS uses.
 */
import { randomUUID } from 'node:crypto';
import type { FunctionHost } from './functions.ts';
import type { LogSink } from './log.ts';
import type { LocalTopic } from './template.ts';

/** A message attribute as `Publish` takes it. */
export interface SnsMessageAttribute {
  DataType: string;
  StringValue?: string;
  BinaryValue?: string;
}

/** One published notification. */
export interface SnsNotification {
  messageId: string;
  topicArn: string;
  subject?: string;
  message: string;
  messageAttributes: Record<string, SnsMessageAttribute>;
  timestamp: string;
}

/** SNS's `NotFound` (no such topic) and `InvalidParameter` errors. */
export class SnsError extends Error {
  readonly code: 'NotFound' | 'InvalidParameter';
  constructor(code: 'NotFound' | 'InvalidParameter', message: string) {
    super(message);
    this.name = code;
    this.code = code;
  }
}

/** Options of {@link SnsService}. */
export interface SnsServiceOptions {
  topics: readonly LocalTopic[];
  functions: FunctionHost;
  log: LogSink;
}

/** The stack's topics. */
export class SnsService {
  /** Every notification published since start, oldest first. */
  readonly notifications: SnsNotification[] = [];
  private readonly options: SnsServiceOptions;

  constructor(options: SnsServiceOptions) {
    this.options = options;
  }

  /**
   * Publishes to a topic of the stack.
   * @throws {SnsError} `NotFound` for an unknown topic, `InvalidParameter` for an empty message.
   */
  publish(request: {
    topicArn: string;
    message: string;
    subject?: string;
    messageAttributes?: Record<string, SnsMessageAttribute>;
  }): SnsNotification {
    const topic = this.options.topics.find((t) => t.arn === request.topicArn);
    if (!topic) throw new SnsError('NotFound', 'Topic does not exist');
    if (typeof request.message !== 'string' || request.message === '') {
      throw new SnsError('InvalidParameter', 'Invalid parameter: Empty message');
    }
    const notification: SnsNotification = {
      messageId: randomUUID(),
      topicArn: topic.arn,
      ...(request.subject === undefined ? {} : { subject: request.subject }),
      message: request.message,
      messageAttributes: request.messageAttributes ?? {},
      timestamp: new Date().toISOString(),
    };
    this.notifications.push(notification);
    if (!isAlarmStartup(request.message)) {
      // The subject is what a person reads first; the whole message stays in `notifications`.
      const text = request.subject ?? request.message;
      this.options.log.line(`sns ${topic.name}`, text.length > 200 ? `${text.slice(0, 200)}…` : text);
    }
    for (const subscription of topic.subscriptions) this.deliver(topic, subscription, notification);
    return notification;
  }

  private deliver(
    topic: LocalTopic,
    subscription: LocalTopic['subscriptions'][number],
    n: SnsNotification,
  ): void {
    if (subscription.protocol !== 'lambda') {
      this.options.log.line(
        `sns ${topic.name}`,
        `(${subscription.protocol} ${subscription.endpoint} is not delivered locally)`,
      );
      return;
    }
    const subscriptionArn = `${topic.arn}:${randomUUID()}`;
    this.options.functions.invokeAsync(subscription.endpoint, {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: subscriptionArn,
          Sns: {
            Type: 'Notification',
            MessageId: n.messageId,
            TopicArn: n.topicArn,
            Subject: n.subject ?? null,
            Message: n.message,
            Timestamp: n.timestamp,
            SignatureVersion: '1',
            Signature: 'LOCAL',
            SigningCertUrl: '',
            UnsubscribeUrl: '',
            MessageAttributes: Object.fromEntries(
              Object.entries(n.messageAttributes).map(([name, a]) => [
                name,
                { Type: a.DataType, Value: a.StringValue ?? a.BinaryValue ?? '' },
              ]),
            ),
          },
        },
      ],
    });
  }
}

/**
 * A CloudWatch alarm notification for an alarm's first evaluation (INSUFFICIENT_DATA → OK): every alarm
 * sends one when the runtime starts, and the alarm evaluator already sums them up in one line.
 */
function isAlarmStartup(message: string): boolean {
  if (!message.startsWith('{')) return false;
  try {
    const alarm = JSON.parse(message) as { OldStateValue?: string; NewStateValue?: string };
    return alarm.OldStateValue === 'INSUFFICIENT_DATA' && alarm.NewStateValue === 'OK';
  } catch {
    return false;
  }
}
