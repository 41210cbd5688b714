import { randomUUID } from 'node:crypto';

import { XMLParser } from 'fast-xml-parser';

import { esc, OperationError, success, type Node } from './ews-operations.js';
import { findFolder, type SimChange, type SimItem, type SimMailbox } from './ews-store.js';

/** Event types a simulated push subscription can report. */
export type SimEventType = 'NewMailEvent' | 'CreatedEvent' | 'StatusEvent';

/** Event types Subscribe accepts; the simulator raises only those in SimEventType. */
const KNOWN_EVENT_TYPES = new Set([
  'CopiedEvent',
  'CreatedEvent',
  'DeletedEvent',
  'ModifiedEvent',
  'MovedEvent',
  'NewMailEvent',
  'FreeBusyChangedEvent',
]);

/** One event of a simulated notification. */
export interface SimEvent {
  type: SimEventType;
  watermark: string;
  timeStamp: string;
  itemId?: string;
  parentFolderId?: string;
}

/** A push subscription of the simulator. */
export interface SimPushSubscription {
  id: string;
  mailbox: string;
  folderIds: ReadonlySet<string>;
  eventTypes: ReadonlySet<string>;
  statusFrequencyMinutes: number;
  url: string;
  /** `active`, or why Exchange ended it. */
  state: 'active' | 'unsubscribed' | 'failed';
  /** Watermark of the last event delivered. */
  previousWatermark: string;
}

/** One POST of a SendNotification to a callback URL. */
export interface PushDelivery {
  subscriptionId: string;
  /** Event types in the request, in order. */
  events: SimEventType[];
  /** HTTP status of the response, or `network-error`. */
  status: number | 'network-error';
  /** SubscriptionStatus of the response, when it had one. */
  answer?: 'OK' | 'Unsubscribe';
  /** 0 for the first try of a batch of events, then 1, 2, ... for retries. */
  retry: number;
  /** Milliseconds since the simulator's push clock started. */
  atMs: number;
}

/** Options of the push notifier. */
export interface PushOptions {
  /** Length of one StatusFrequency minute in real milliseconds; default 60,000. Tests shrink it. */
  minuteMs?: number;
}

interface SubscriptionState {
  subscription: SimPushSubscription;
  pending: SimEvent[];
  sending: boolean;
  scheduled: boolean;
  /** Time of the first failed try of the current batch, while retrying. */
  failingSinceMs?: number;
  retry: number;
  timer?: NodeJS.Timeout;
  counter: number;
}

const answerParser = new XMLParser({ removeNSPrefix: true, parseTagValue: false });

/**
 * Push notifications as Exchange sends them. New items in watched folders are POSTed as
 * SendNotification to the subscription's URL, and a StatusEvent keep-alive follows StatusFrequency
 * minutes without events. A failed delivery is retried 30, 60, 120, 240 ... seconds after the
 * first failure while that is within StatusFrequency minutes, and then the subscription is
 * dropped. A response with SubscriptionStatus Unsubscribe ends it.
 * @see https://learn.microsoft.com/exchange/client-developer/web-service-reference/statusfrequency
 */
export class PushNotifier {
  readonly deliveries: PushDelivery[] = [];
  /** While true, every delivery fails as if the callback host were unreachable. */
  blocked = false;
  private readonly states = new Map<string, SubscriptionState>();
  private readonly minuteMs: number;
  private readonly startedAt = Date.now();
  private closed = false;

  constructor(options: PushOptions = {}) {
    this.minuteMs = options.minuteMs ?? 60_000;
  }

  /** Returns every push subscription created, active or ended. */
  subscriptions(): SimPushSubscription[] {
    return [...this.states.values()].map((state) => state.subscription);
  }

  /** Handles Subscribe with a PushSubscriptionRequest and returns the response message. */
  subscribe(mailbox: SimMailbox, request: Node): string {
    const push = request.PushSubscriptionRequest as Node | undefined;
    if (push === undefined) {
      // Pull and streaming subscriptions are not simulated.
      throw new OperationError('ErrorInvalidSubscriptionRequest');
    }
    const url = typeof push.URL === 'string' ? push.URL : '';
    if (!/^https?:\/\//.test(url)) {
      throw new OperationError('ErrorInvalidPushSubscriptionUrl');
    }

    const frequencyText = typeof push.StatusFrequency === 'string' ? push.StatusFrequency : '30';
    const statusFrequencyMinutes = Number(frequencyText);
    const inRange = statusFrequencyMinutes >= 1 && statusFrequencyMinutes <= 1440;
    if (!/^\d+$/.test(frequencyText) || !inRange) {
      throw new OperationError('ErrorInvalidSubscriptionRequest');
    }
    const requested = listOf((push.EventTypes as Node | undefined)?.EventType);
    const eventTypes = new Set(requested.map(String));
    if (eventTypes.size === 0 || [...eventTypes].some((type) => !KNOWN_EVENT_TYPES.has(type))) {
      throw new OperationError('ErrorInvalidSubscriptionRequest');
    }

    const subscription: SimPushSubscription = {
      id: Buffer.from(`push:${randomUUID()}`).toString('base64'),
      mailbox: mailbox.address,
      folderIds: resolveFolderIds(mailbox, push.FolderIds as Node | undefined),
      eventTypes,
      statusFrequencyMinutes,
      url,
      state: 'active',
      previousWatermark: '',
    };
    const state: SubscriptionState = {
      subscription,
      pending: [],
      sending: false,
      scheduled: false,
      retry: 0,
      counter: 0,
    };
    subscription.previousWatermark = this.nextWatermark(state);
    this.states.set(subscription.id, state);
    this.armKeepAlive(state);

    const content =
      `<m:SubscriptionId>${esc(subscription.id)}</m:SubscriptionId>` +
      `<m:Watermark>${esc(subscription.previousWatermark)}</m:Watermark>`;
    return success('Subscribe', content);
  }

  /**
   * Handles Unsubscribe. Exchange accepts it for pull and streaming subscriptions only, so a push
   * subscription's id gets ErrorInvalidSubscription.
   */
  unsubscribe(request: Node): string {
    const id = typeof request.SubscriptionId === 'string' ? request.SubscriptionId : '';
    const known = this.states.has(id);
    throw new OperationError(known ? 'ErrorInvalidSubscription' : 'ErrorSubscriptionNotFound');
  }

  /** Raises CreatedEvent for an item created in (or moved into) a watched folder. */
  onChange(mailbox: SimMailbox, change: SimChange): void {
    if (change.kind === 'create') {
      this.raise(mailbox, 'CreatedEvent', change.itemId, change.folderId);
    }
  }

  /** Raises NewMailEvent for a message that transport delivered. */
  onNewMail(mailbox: SimMailbox, item: SimItem): void {
    this.raise(mailbox, 'NewMailEvent', item.id, item.folderId);
  }

  /** Waits until no event is pending, being sent or waiting for a retry. */
  async whenIdle(): Promise<void> {
    for (;;) {
      const busy = [...this.states.values()].some(
        (state) =>
          state.subscription.state === 'active' &&
          (state.sending || state.scheduled || state.pending.length > 0),
      );
      if (!busy) return;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  /** Stops every timer; nothing is sent afterwards. */
  close(): void {
    this.closed = true;
    for (const state of this.states.values()) {
      clearTimeout(state.timer);
    }
  }

  private raise(mailbox: SimMailbox, type: SimEventType, itemId: string, folderId: string): void {
    for (const state of this.states.values()) {
      const { subscription } = state;
      if (
        subscription.state !== 'active' ||
        subscription.mailbox !== mailbox.address ||
        !subscription.folderIds.has(folderId) ||
        !subscription.eventTypes.has(type)
      ) {
        continue;
      }
      state.pending.push({
        type,
        watermark: this.nextWatermark(state),
        timeStamp: new Date().toISOString(),
        itemId,
        parentFolderId: folderId,
      });
      // Events raised in the same turn (NewMailEvent and CreatedEvent) go out in one request.
      if (!state.sending && !state.scheduled && state.failingSinceMs === undefined) {
        this.schedule(state, 0);
      }
    }
  }

  private schedule(state: SubscriptionState, delayMs: number): void {
    clearTimeout(state.timer);
    state.scheduled = true;
    state.timer = setTimeout(() => {
      state.scheduled = false;
      void this.send(state);
    }, delayMs);
  }

  private armKeepAlive(state: SubscriptionState): void {
    clearTimeout(state.timer);
    state.timer = setTimeout(() => {
      if (state.pending.length === 0) {
        state.pending.push({
          type: 'StatusEvent',
          watermark: this.nextWatermark(state),
          timeStamp: new Date().toISOString(),
        });
      }
      void this.send(state);
    }, state.subscription.statusFrequencyMinutes * this.minuteMs);
  }

  private async send(state: SubscriptionState): Promise<void> {
    const { subscription } = state;
    if (this.closed || subscription.state !== 'active' || state.sending) return;
    const events = state.pending.splice(0, state.pending.length);
    if (events.length === 0) {
      this.armKeepAlive(state);
      return;
    }
    state.sending = true;
    const delivery: PushDelivery = {
      subscriptionId: subscription.id,
      events: events.map((event) => event.type),
      status: 'network-error',
      retry: state.retry,
      atMs: Date.now() - this.startedAt,
    };
    this.deliveries.push(delivery);
    await this.post(subscription, events, delivery);
    state.sending = false;
    if (this.closed) return;

    if (delivery.answer === undefined) {
      state.pending.unshift(...events);
      this.retryOrDrop(state);
      return;
    }
    state.failingSinceMs = undefined;
    state.retry = 0;
    subscription.previousWatermark = events.at(-1)?.watermark ?? subscription.previousWatermark;
    if (delivery.answer === 'Unsubscribe') {
      subscription.state = 'unsubscribed';
      clearTimeout(state.timer);
      return;
    }
    if (state.pending.length > 0) {
      this.schedule(state, 0);
    } else {
      this.armKeepAlive(state);
    }
  }

  /** Schedules the next retry on Exchange's doubling schedule, or drops the subscription. */
  private retryOrDrop(state: SubscriptionState): void {
    const now = Date.now();
    state.failingSinceMs ??= now;
    state.retry += 1;
    const offsetMs = (this.minuteMs / 2) * 2 ** (state.retry - 1);
    const limitMs = state.subscription.statusFrequencyMinutes * this.minuteMs;
    if (offsetMs > limitMs) {
      state.subscription.state = 'failed';
      state.pending = [];
      clearTimeout(state.timer);
      return;
    }
    this.schedule(state, Math.max(0, state.failingSinceMs + offsetMs - now));
  }

  private async post(
    subscription: SimPushSubscription,
    events: SimEvent[],
    delivery: PushDelivery,
  ): Promise<void> {
    if (this.blocked) return;
    try {
      const response = await fetch(subscription.url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8' },
        body: sendNotificationXml(subscription, events),
        signal: AbortSignal.timeout(10_000),
      });
      delivery.status = response.status;
      const text = await response.text();
      if (response.status !== 200) return;
      const parsed = answerParser.parse(text) as Node;
      const result = ((parsed.Envelope as Node | undefined)?.Body as Node | undefined)
        ?.SendNotificationResult as Node | undefined;
      const status = result?.SubscriptionStatus;
      if (status === 'OK' || status === 'Unsubscribe') {
        delivery.answer = status;
      }
    } catch {
      // Connection refused, reset or timed out: counted as a failed delivery.
    }
  }

  private nextWatermark(state: SubscriptionState): string {
    state.counter += 1;
    return Buffer.from(`wm:${state.subscription.id}:${state.counter}`).toString('base64');
  }
}

function listOf(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined ? [] : [value];
}

function resolveFolderIds(mailbox: SimMailbox, folderIds: Node | undefined): Set<string> {
  const ids = new Set<string>();
  for (const node of listOf(folderIds?.DistinguishedFolderId) as Node[]) {
    const folder = findFolder(mailbox, { distinguished: String(node['@_Id'] ?? '') });
    if (folder === undefined) throw new OperationError('ErrorFolderNotFound');
    ids.add(folder.id);
  }
  for (const node of listOf(folderIds?.FolderId) as Node[]) {
    const folder = findFolder(mailbox, { id: String(node['@_Id'] ?? '') });
    if (folder === undefined) throw new OperationError('ErrorFolderNotFound');
    ids.add(folder.id);
  }
  if (ids.size === 0) throw new OperationError('ErrorInvalidSubscriptionRequest');
  return ids;
}

/** Builds a SendNotification request as Exchange posts it to a callback URL. */
export function sendNotificationXml(
  subscription: Pick<SimPushSubscription, 'id' | 'previousWatermark'>,
  events: SimEvent[],
): string {
  const eventXml = events
    .map((event) => {
      const ids =
        event.itemId === undefined
          ? ''
          : `<t:TimeStamp>${event.timeStamp}</t:TimeStamp>` +
            `<t:ItemId Id="${esc(event.itemId)}" ChangeKey="CQAAAA=="/>` +
            `<t:ParentFolderId Id="${esc(event.parentFolderId ?? '')}" ChangeKey="AQAAAA=="/>`;
      return `<t:${event.type}><t:Watermark>${esc(event.watermark)}</t:Watermark>${ids}</t:${event.type}>`;
    })
    .join('');
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    '<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/">' +
    '<soap11:Header><t:RequestServerVersion xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types" Version="Exchange2013"/></soap11:Header>' +
    '<soap11:Body><m:SendNotification xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">' +
    '<m:ResponseMessages><m:SendNotificationResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>' +
    `<m:Notification><t:SubscriptionId>${esc(subscription.id)}</t:SubscriptionId>` +
    `<t:PreviousWatermark>${esc(subscription.previousWatermark)}</t:PreviousWatermark>` +
    `<t:MoreEvents>false</t:MoreEvents>${eventXml}</m:Notification>` +
    '</m:SendNotificationResponseMessage></m:ResponseMessages></m:SendNotification></soap11:Body></soap11:Envelope>'
  );
}
