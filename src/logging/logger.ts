import { LoggerService } from '@nestjs/common';
import pino from 'pino';

/** Field paths whose values are replaced in every log line, whatever logs them. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.headers.authorization',
  'token',
  'secret',
  'apiKey',
  'password',
  'key',
  '*.token',
  '*.secret',
  '*.apiKey',
  '*.password',
  '*.key',
  'err.parameters',
  'err.query',
  'err.driverError',
];

export function createPino(level: string, destination?: pino.DestinationStream): pino.Logger {
  return pino(
    {
      level,
      base: { service: 'glidekey' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ sync: false }),
  );
}

/** Nest's logger interface over pino: structured JSON lines with the Nest context as a field. */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly pino: pino.Logger) {}

  log(message: unknown, ...params: unknown[]) {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]) {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]) {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]) {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]) {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]) {
    this.write('fatal', message, params);
  }

  private write(level: pino.Level, message: unknown, params: unknown[]) {
    const context = typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
    if (message !== null && typeof message === 'object' && !(message instanceof Error)) {
      const msg = typeof params[0] === 'string' ? (params.shift() as string) : undefined;
      this.pino[level]({ context, ...(message as object) }, msg);
    } else if (message instanceof Error) {
      this.pino[level]({ context, err: message });
    } else {
      // Nest passes a stack trace as the second argument of error().
      const stack = typeof params[0] === 'string' ? params[0] : undefined;
      this.pino[level](stack ? { context, stack } : { context }, String(message));
    }
  }
}
