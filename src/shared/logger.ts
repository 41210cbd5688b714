/** Structured fields attached to a log line. Never put message content or secrets here. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/** The logger every module in src/ receives. Functions pass the invocation context's methods. */
export interface Logger {
  error(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  debug(message: string, fields?: LogFields): void;
}

const LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LEVELS)[number];

/**
 * Creates a logger that writes one JSON object per line to stderr, for the command line and the
 * local host. Lines below `level` are dropped.
 */
export function createJsonLogger(level: LogLevel = 'info'): Logger {
  const threshold = LEVELS.indexOf(level);
  const write = (lineLevel: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVELS.indexOf(lineLevel) > threshold) {
      return;
    }
    const line = { time: new Date().toISOString(), level: lineLevel, message, ...fields };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  };
  return {
    error: (message, fields) => write('error', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    info: (message, fields) => write('info', message, fields),
    debug: (message, fields) => write('debug', message, fields),
  };
}

/** A logger that drops everything, for tests and benchmarks. */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
};
