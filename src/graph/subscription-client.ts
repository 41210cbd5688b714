import type { MailboxName } from '../mailbox/mailbox-client.js';

/** A Graph change-notification subscription on one mailbox's messages. */
export interface GraphSubscription {
  id: string;
  /** The watched resource, for example `users/{id}/messages`. */
  resource: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  /** ISO 8601 expiry; Graph allows at most 4,230 minutes ahead for Outlook resources. */
  expirationDateTime: string;
}

/** What creating a subscription needs. clientState is a per-subscription secret. */
export interface CreateSubscriptionRequest {
  mailbox: MailboxName;
  notificationUrl: string;
  lifecycleNotificationUrl: string;
  clientState: string;
  expiration: Date;
}

/** Graph's /subscriptions resource, as mailsweep uses it. Errors are ScannerError, as in MailboxClient. */
export interface SubscriptionClient {
  createSubscription(request: CreateSubscriptionRequest): Promise<GraphSubscription>;
  /** PATCHes the expiry. */
  renewSubscription(id: string, expiration: Date): Promise<GraphSubscription>;
  /** POST /subscriptions/{id}/reauthorize. */
  reauthorizeSubscription(id: string): Promise<void>;
  deleteSubscription(id: string): Promise<void>;
  listSubscriptions(): Promise<GraphSubscription[]>;
}

/** The members of an Entra group that have mailboxes. */
export interface DirectoryClient {
  /** Primary SMTP addresses of the group's user members (transitive), lower-cased. */
  listGroupMailboxes(groupId: string): Promise<MailboxName[]>;
}

/** A message mailsweep sends (digests, notices). Bodies are built by mailsweep, never from mail. */
export interface OutgoingMail {
  to: string[];
  subject: string;
  html: string;
  text?: string;
}

/** sendMail from a configured mailbox. */
export interface MailSender {
  sendMail(fromMailbox: MailboxName, mail: OutgoingMail): Promise<void>;
}

/** sendMail in MIME format from a configured mailbox. */
export interface MimeMailSender {
  /** Sends a complete RFC 5322 message; its To, Cc and Bcc headers name the recipients. */
  sendMimeMail(fromMailbox: MailboxName, mime: Buffer): Promise<void>;
}
