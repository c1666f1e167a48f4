import { ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError, ErrorCode } from './errors.js';

function first(errors: ValidationError[], path: string[] = []): { path: string[]; error: ValidationError } | undefined {
  for (const e of errors) {
    const p = [...path, e.property];
    if (e.constraints && Object.keys(e.constraints).length) return { path: p, error: e };
    const nested = first(e.children ?? [], p);
    if (nested) return nested;
  }
  return undefined;
}

/**
 * Turns class-validator's output into one DomainError naming the field.
 * A constraint may carry `context: { code }` for a more specific stable code.
 */
export function validationError(errors: ValidationError[]): DomainError {
  const hit = first(errors);
  if (!hit) return new DomainError('VALIDATION_FAILED', 'invalid request');
  const field = hit.path.join('.');
  const [name, message] = Object.entries(hit.error.constraints!)[0];
  if (name === 'whitelistValidation') return new DomainError('UNKNOWN_FIELD', `unknown field: ${field}`, field);
  const code = (hit.error.contexts?.[name]?.code as ErrorCode | undefined) ?? 'VALIDATION_FAILED';
  // class-validator messages name the property and the rule, never the rejected value.
  return new DomainError(code, message.startsWith(hit.error.property) ? `${field}${message.slice(hit.error.property.length)}` : `${field}: ${message}`, field);
}

export const globalValidationPipe = () =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: validationError,
  });
