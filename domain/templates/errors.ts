import type { VersionProblem } from '../../templates/version-check.js';

/** A refused template change or request; the API answers it as a problem document. */
export class TemplateDataError extends Error {
  override readonly name = 'TemplateDataError';
  constructor(
    readonly status: 404 | 409 | 422,
    message: string,
    readonly problems: { path: string; message: string; line?: number; tag?: string }[] = [],
  ) {
    super(message);
  }
}

export const notFound = (message: string) => new TemplateDataError(404, message);
export const invalid = (message: string, problems: TemplateDataError['problems'] = []) => new TemplateDataError(422, message, problems);
export const conflict = (message: string) => new TemplateDataError(409, message);

export function fromVersionProblems(problems: VersionProblem[]): TemplateDataError {
  const list = problems.map((p) => ({
    path: `body.${p.where}`,
    message: p.message,
    ...(p.line ? { line: p.line } : {}),
    ...(p.tag ? { tag: p.tag } : {}),
  }));
  return invalid(`The version was not created: ${problems.map((p) => `${p.where}: ${p.message}`).join('; ')}`, list);
}
