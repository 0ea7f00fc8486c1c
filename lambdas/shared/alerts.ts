/**
 * Notifications to the alerts topic (SNS): rollbacks, and anything else a person should hear about.
 */
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { logger } from './observability.ts';

let sns: SNSClient | undefined;

/** Publishes to the topic; failures are logged, never thrown (an alert must not undo a rollback). */
export async function notify(topicArn: string | undefined, subject: string, message: unknown): Promise<void> {
  if (!topicArn) return;
  sns ??= new SNSClient({});
  try {
    await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: subject.slice(0, 99),
        Message: JSON.stringify(message, null, 2),
      }),
    );
  } catch (error) {
    logger.error('could not publish the alert', { error: error as Error, subject });
  }
}
