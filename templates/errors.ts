export type TemplateErrorCode = 'unknown_type' | 'missing_variable' | 'invalid_template';

/**
 * Thrown by every rendering entry point. `unknown_type` and `missing_variable` are caller
 * errors (don't retry); `invalid_template` is a bug in a template file (fails at start-up).
 */
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
