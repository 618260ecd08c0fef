export type TemplateErrorCode = 'unknown_type' | 'missing_variable' | 'invalid_template' | 'compile_timeout' | 'compile_busy';

/**
 * Thrown by every rendering entry point. `unknown_type` and `missing_variable` are caller
 * errors (don't retry); `invalid_template` is a bug in a template file (fails at start-up).
 * `compile_timeout`: the MJML took longer than the compile limit (templates/mjml.ts); `compile_busy`:
 * the compile queue is full, try again shortly.
 */
/** A refusal for lack of compile capacity, not a fault in the template: try again later. */
export const compileBusy = (err: unknown): boolean => err instanceof TemplateError && err.code === 'compile_busy';

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
  readonly code: TemplateErrorCode;
  readonly details?: unknown;

  constructor(code: TemplateErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.details = details;
  }
}
