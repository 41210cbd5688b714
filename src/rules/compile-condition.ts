import ipaddr from 'ipaddr.js';

import type { MessageFacts, PartFacts } from './message-facts.js';
import { type CompiledList, isInList, isInRanges } from './rule-lists.js';
import {
  BOOLEAN_FIELDS,
  type ConditionField,
  type ConditionInput,
  type DateRange,
  dateRangeSchema,
  NUMBER_FIELDS,
  NUMBER_OPERATORS,
  NUMBER_VALUE_SCHEMAS,
  type NumberField,
  type NumberOperator,
  TEXT_FIELDS,
  TEXT_OPERATORS,
  TEXT_VALUE_SCHEMAS,
  type TextField,
  type TextOperator,
  type TimeWindow,
  timeWindowSchema,
  WEEKDAYS,
} from './rule-schema.js';
import { compileSafePattern } from './safe-pattern.js';

/** Inputs of a condition: the message's facts and, at the attachment point, one attachment. */
export interface ConditionInputs {
  facts: MessageFacts;
  part?: PartFacts;
}

/** A condition ready to run, with a description built from the rule (never from the message). */
export interface CompiledCondition {
  field: ConditionField;
  description: string;
  test(inputs: ConditionInputs): boolean;
}

/** A problem in one condition, relative to the condition (`value`, `operator`). */
export interface ConditionIssue {
  path: string;
  message: string;
}

const TEXT_FIELD_SET: ReadonlySet<string> = new Set(TEXT_FIELDS);
const NUMBER_FIELD_SET: ReadonlySet<string> = new Set(NUMBER_FIELDS);
const BOOLEAN_FIELD_SET: ReadonlySet<string> = new Set(BOOLEAN_FIELDS);

/**
 * Compiles one validated condition. Lists are looked up by name in `lists`.
 * @returns the condition, or the issues that make it unusable.
 */
export function compileCondition(
  condition: ConditionInput,
  lists: ReadonlyMap<string, CompiledList>,
): CompiledCondition | ConditionIssue[] {
  if (TEXT_FIELD_SET.has(condition.field)) {
    return compileTextCondition(condition, condition.field as TextField, lists);
  }
  if (NUMBER_FIELD_SET.has(condition.field)) {
    return compileNumberCondition(condition, condition.field as NumberField);
  }
  if (BOOLEAN_FIELD_SET.has(condition.field)) {
    return compileBooleanCondition(condition);
  }
  return compileTimeCondition(condition);
}

function compileTextCondition(
  condition: ConditionInput,
  field: TextField,
  lists: ReadonlyMap<string, CompiledList>,
): CompiledCondition | ConditionIssue[] {
  const operator = condition.operator as TextOperator;
  if (!(TEXT_OPERATORS as readonly string[]).includes(operator)) {
    return [operatorIssue(condition, TEXT_OPERATORS, 'text')];
  }
  if ((operator === 'inRange' || operator === 'notInRange') && field !== 'sender.ip') {
    return [{ path: 'operator', message: `${operator} applies only to the field sender.ip` }];
  }
  if (field === 'header' && condition.header === undefined) {
    return [{ path: 'header', message: 'is required for the field header' }];
  }
  if (field !== 'header' && condition.header !== undefined) {
    return [{ path: 'header', message: 'is allowed only with the field header' }];
  }
  const parsed = TEXT_VALUE_SCHEMAS[operator].safeParse(condition.value);
  if (!parsed.success) {
    return [{ path: 'value', message: valueMessage(parsed.error.issues[0]?.message, operator) }];
  }
  const read = textReader(field, condition.header?.toLowerCase());
  const matcher = compileTextMatcher(operator, parsed.data, lists);
  if ('error' in matcher) {
    return [{ path: 'value', message: matcher.error }];
  }
  const negated = operator.startsWith('not') || operator === 'isNot';
  const label = field === 'header' ? `header ${condition.header ?? ''}` : field;
  return {
    field,
    description: `${label} ${operator} ${JSON.stringify(parsed.data)}`,
    test: (inputs) => {
      const values = read(inputs);
      let found = false;
      for (const value of values) {
        if (matcher.test(value)) {
          found = true;
          break;
        }
      }
      return negated ? !found : found;
    },
  };
}

/** Builds the positive test of a text operator; negated operators invert it. */
function compileTextMatcher(
  operator: TextOperator,
  value: unknown,
  lists: ReadonlyMap<string, CompiledList>,
): { test(value: string): boolean } | { error: string } {
  const items = (Array.isArray(value) ? value : [value]).map((item) => String(item).toLowerCase());
  switch (operator) {
    case 'is':
    case 'isNot': {
      const expected = new Set(items);
      return { test: (text) => expected.has(text) };
    }
    case 'contains':
    case 'notContains':
      return { test: (text) => items.some((item) => text.includes(item)) };
    case 'matches':
    case 'notMatches':
      return compileSafePattern(String(value));
    case 'inList':
    case 'notInList': {
      const list = lists.get(String(value));
      return list
        ? { test: (text) => isInList(list, text) }
        : { error: `names the list "${String(value)}", which the rule set does not define` };
    }
    case 'inRange':
    case 'notInRange': {
      const bad = items.find((item) => !ipaddr.isValidCIDR(item));
      if (bad !== undefined) {
        return { error: `"${bad}" is not a CIDR range such as 192.0.2.0/24` };
      }
      const ranges = items.map((item) => ipaddr.parseCIDR(item));
      return { test: (text) => isInRanges(ranges, text) };
    }
  }
}

const EMPTY: readonly string[] = [];

/** Returns the function that reads a text field's values. Attachment fields read the part. */
function textReader(
  field: TextField,
  header: string | undefined,
): (inputs: ConditionInputs) => readonly string[] {
  const partReader = (pick: (part: PartFacts) => readonly string[]) => (inputs: ConditionInputs) =>
    pick(inputs.part ?? inputs.facts.anyAttachment);
  switch (field) {
    case 'header':
      return (inputs) => inputs.facts.headers.get(header ?? '') ?? EMPTY;
    case 'attachment.name':
      return partReader((part) => part.names);
    case 'attachment.extension':
      return partReader((part) => part.extensions);
    case 'attachment.trueType':
      return partReader((part) => part.trueTypes);
    case 'archive.memberName':
      return partReader((part) => part.memberNames);
    case 'archive.memberType':
      return partReader((part) => part.memberTypes);
    case 'av.category':
      return (inputs) => (inputs.facts.results ? [inputs.facts.results.avCategory] : EMPTY);
    case 'phishing.finding':
      return (inputs) => inputs.facts.results?.phishingFindings ?? EMPTY;
    default:
      return (inputs) => inputs.facts.text[field] ?? EMPTY;
  }
}

function compileNumberCondition(
  condition: ConditionInput,
  field: NumberField,
): CompiledCondition | ConditionIssue[] {
  const operator = condition.operator as NumberOperator;
  if (!(NUMBER_OPERATORS as readonly string[]).includes(operator)) {
    return [operatorIssue(condition, NUMBER_OPERATORS, 'number')];
  }
  if (condition.header !== undefined) {
    return [{ path: 'header', message: 'is allowed only with the field header' }];
  }
  const parsed = NUMBER_VALUE_SCHEMAS[operator].safeParse(condition.value);
  if (!parsed.success) {
    return [{ path: 'value', message: valueMessage(parsed.error.issues[0]?.message, operator) }];
  }
  const value = parsed.data as number | [number, number];
  const compare = numberComparison(operator, value);
  const read = numberReader(field);
  return {
    field,
    description: `${field} ${operator} ${JSON.stringify(value)}`,
    test: (inputs) => {
      const numbers = read(inputs);
      if (numbers.length === 0) {
        return false;
      }
      return operator === 'isNot' ? !numbers.some(compare) : numbers.some(compare);
    },
  };
}

function numberComparison(
  operator: NumberOperator,
  value: number | [number, number],
): (actual: number) => boolean {
  if (Array.isArray(value)) {
    const [low, high] = value;
    return (actual) => actual >= low && actual <= high;
  }
  switch (operator) {
    case 'atLeast':
      return (actual) => actual >= value;
    case 'atMost':
      return (actual) => actual <= value;
    default:
      return (actual) => actual === value;
  }
}

function numberReader(field: NumberField): (inputs: ConditionInputs) => readonly number[] {
  switch (field) {
    case 'attachment.size':
      return (inputs) =>
        inputs.part ? [inputs.part.size] : inputs.facts.attachments.map((part) => part.size);
    case 'attachment.count':
      return (inputs) => [inputs.facts.attachmentCount];
    case 'message.size':
      return (inputs) => [inputs.facts.messageSize];
    case 'spam.score':
      return (inputs) =>
        inputs.facts.results?.spamScore === undefined ? [] : [inputs.facts.results.spamScore];
  }
}

function compileBooleanCondition(condition: ConditionInput): CompiledCondition | ConditionIssue[] {
  if (condition.operator !== 'is') {
    return [
      { path: 'operator', message: `must be "is" for the yes-or-no field ${condition.field}` },
    ];
  }
  if (typeof condition.value !== 'boolean') {
    return [{ path: 'value', message: 'must be true or false' }];
  }
  const expected = condition.value;
  const read =
    condition.field === 'archive.encrypted'
      ? (inputs: ConditionInputs) => (inputs.part ?? inputs.facts.anyAttachment).encrypted
      : (inputs: ConditionInputs) => inputs.facts.fromMismatch;
  return {
    field: condition.field,
    description: `${condition.field} is ${String(expected)}`,
    test: (inputs) => read(inputs) === expected,
  };
}

function compileTimeCondition(condition: ConditionInput): CompiledCondition | ConditionIssue[] {
  if (condition.operator === 'between') {
    const parsed = dateRangeSchema.safeParse(condition.value);
    if (!parsed.success) {
      return [{ path: 'value', message: valueMessage(parsed.error.issues[0]?.message, 'between') }];
    }
    return dateRangeCondition(parsed.data);
  }
  if (condition.operator === 'within') {
    const parsed = timeWindowSchema.safeParse(condition.value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
      return [{ path: `value${where}`, message: valueMessage(issue?.message, 'within') }];
    }
    return timeWindowCondition(parsed.data);
  }
  return [
    {
      path: 'operator',
      message: 'must be "within" (a time frame) or "between" (dates) for the field received',
    },
  ];
}

function dateRangeCondition(range: DateRange): CompiledCondition {
  const after = range.after === undefined ? Number.NEGATIVE_INFINITY : Date.parse(range.after);
  const before = range.before === undefined ? Number.POSITIVE_INFINITY : Date.parse(range.before);
  return {
    field: 'received',
    description: `received between ${JSON.stringify(range)}`,
    test: (inputs) => {
      const time = inputs.facts.received.getTime();
      return time >= after && time < before;
    },
  };
}

/** Compiles a weekly time frame in a time zone. A frame whose end is before its start runs past midnight. */
function timeWindowCondition(window: TimeWindow): CompiledCondition | ConditionIssue[] {
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: window.timeZone ?? 'UTC',
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
  } catch {
    return [{ path: 'value.timeZone', message: 'is not an IANA time zone such as Europe/Berlin' }];
  }
  const start = toMinutes(window.start);
  const end = toMinutes(window.end);
  const days = window.days ? new Set<string>(window.days) : undefined;
  return {
    field: 'received',
    description: `received within ${JSON.stringify(window)}`,
    test: (inputs) => {
      const local = localTime(format, inputs.facts.received);
      if (days && !days.has(local.day)) {
        return false;
      }
      return start <= end
        ? local.minutes >= start && local.minutes < end
        : local.minutes >= start || local.minutes < end;
    },
  };
}

function toMinutes(clock: string): number {
  const [hours, minutes] = clock.split(':').map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

function localTime(format: Intl.DateTimeFormat, date: Date): { day: string; minutes: number } {
  let day = '';
  let hours = 0;
  let minutes = 0;
  for (const part of format.formatToParts(date)) {
    if (part.type === 'weekday') day = part.value.toLowerCase().slice(0, 3);
    else if (part.type === 'hour') hours = Number(part.value);
    else if (part.type === 'minute') minutes = Number(part.value);
  }
  return { day: WEEKDAYS.find((name) => name === day) ?? day, minutes: hours * 60 + minutes };
}

function operatorIssue(
  condition: ConditionInput,
  allowed: readonly string[],
  kind: string,
): ConditionIssue {
  return {
    path: 'operator',
    message: `"${condition.operator}" is not an operator of the ${kind} field ${condition.field}; use one of ${allowed.join(', ')}`,
  };
}

function valueMessage(detail: string | undefined, operator: string): string {
  return `is not a valid value for ${operator}: ${detail ?? 'wrong type'}`;
}
