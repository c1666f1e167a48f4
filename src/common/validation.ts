import { ArgumentMetadata, ValidationError, ValidationPipe } from '@nestjs/common';
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
 * Constraints that state a field's JSON type. When one of them failed the value has the wrong
 * type, and that is the message ("must be an integer"), not a range rule that failed only because
 * a string is not a number.
 */
const TYPE_CONSTRAINTS = ['isInt', 'isNumber', 'isBoolean', 'isString', 'isArray', 'isObject'];

/**
 * Turns class-validator's output into one DomainError naming the field.
 * A constraint may carry `context: { code }` for a more specific stable code.
 */
export function validationError(errors: ValidationError[]): DomainError {
  const hit = first(errors);
  if (!hit) return new DomainError('VALIDATION_FAILED', 'invalid request');
  const field = hit.path.join('.');
  const constraints = Object.entries(hit.error.constraints!);
  const [name, message] = constraints.find(([n]) => TYPE_CONSTRAINTS.includes(n)) ?? constraints[0];
  if (name === 'whitelistValidation') return new DomainError('UNKNOWN_FIELD', `unknown field: ${field}`, field);
  const code = (hit.error.contexts?.[name]?.code as ErrorCode | undefined) ?? 'VALIDATION_FAILED';
  // class-validator messages name the property and the rule, never the rejected value.
  return new DomainError(code, message.startsWith(hit.error.property) ? `${field}${message.slice(hit.error.property.length)}` : `${field}: ${message}`, field);
}

/**
 * Names every object has through Object.prototype (constructor, toString, __proto__ ...). No DTO
 * declares one, and class-transformer silently skips them (the instance already "has" them), so
 * whitelisting never sees them: they are refused here as the unknown fields they are.
 */
const INHERITED_NAMES = new Set(Object.getOwnPropertyNames(Object.prototype));

/**
 * The first field of a parsed body or query that must be refused before any DTO sees it: a member
 * named like an Object.prototype member, or a string (value or member name) holding NUL, which
 * PostgreSQL cannot store and no glidekey field allows. Iterative, so a deep body cannot exhaust
 * the stack; each node is visited once.
 */
export function forbiddenField(value: unknown): { code: ErrorCode; field: string; message: string } | undefined {
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, path] = stack.pop()!;
    if (typeof v === 'string') {
      if (v.includes('\0')) return { code: 'VALIDATION_FAILED', field: path, message: `${path || 'value'} must not contain NUL characters` };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i];
      const p = path ? `${path}.${k}` : k;
      if (k.includes('\0')) return { code: 'UNKNOWN_FIELD', field: p.replace(/\0/g, '\\0'), message: 'unknown field with a NUL character in its name' };
      if (!Array.isArray(v) && INHERITED_NAMES.has(k)) return { code: 'UNKNOWN_FIELD', field: p, message: `unknown field: ${p}` };
      stack.push([(v as Record<string, unknown>)[k], p]);
    }
  }
  return undefined;
}

/**
 * A DTO's precompiled check for the values it certainly accepts: the instance class-transformer
 * would build, or undefined when the value is anything else. Undefined is no verdict: the value
 * then goes through class-validator as before, so every refusal keeps its code and message; the
 * check only spares the reflection (a few percent of a mint) for input that passes anyway.
 */
export type FastCheck = (value: unknown) => object | undefined;

const fastChecks = new Map<unknown, FastCheck>();

/** Registers `check` for bodies and queries typed `dto` (next to the DTO, with the same rules). */
export function fastCheck(dto: new () => object, check: FastCheck): void {
  fastChecks.set(dto, check);
}

/** The global pipe: the checks above on every validated body and query (and NUL in any path parameter), then class-validator. */
class StrictValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'param' && typeof value === 'string' && value.includes('\0')) {
      const field = metadata.data ?? 'path';
      throw new DomainError('VALIDATION_FAILED', `${field} must not contain NUL characters`, field);
    }
    if (this.toValidate(metadata)) {
      const bad = forbiddenField(value);
      if (bad) throw new DomainError(bad.code, bad.message, bad.field);
      const fast = metadata.type === 'body' || metadata.type === 'query' ? fastChecks.get(metadata.metatype)?.(value) : undefined;
      if (fast) return fast;
    }
    return super.transform(value, metadata);
  }
}

export const globalValidationPipe = () =>
  new StrictValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: validationError,
  });
