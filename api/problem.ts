import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** RFC 9457 problem details: every API error has this shape and content type. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

export class ApiProblem extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly problem: { type: string; title: string; detail: string; errors?: Problem['errors'] },
  ) {
    super(status, { message: problem.detail });
  }
}

export const problems = {
  unauthorized: (detail: string) => new ApiProblem(401, { type: 'unauthorized', title: 'Unauthorized', detail }),
  forbidden: (detail: string) => new ApiProblem(403, { type: 'forbidden', title: 'Forbidden', detail }),
  notFound: (detail: string) => new ApiProblem(404, { type: 'not-found', title: 'Not found', detail }),
  conflict: (detail: string) => new ApiProblem(409, { type: 'conflict', title: 'Conflict', detail }),
  invalid: (detail: string, errors?: Problem['errors']) =>
    new ApiProblem(422, { type: 'validation-error', title: 'Invalid request', detail, errors }),
  badRequest: (detail: string) => new ApiProblem(400, { type: 'bad-request', title: 'Bad request', detail }),
  unsupportedMediaType: (detail: string) => new ApiProblem(415, { type: 'unsupported-media-type', title: 'Unsupported media type', detail }),
  tooLarge: (detail: string) => new ApiProblem(413, { type: 'payload-too-large', title: 'Payload too large', detail }),
  unavailable: (detail: string) => new ApiProblem(503, { type: 'unavailable', title: 'Service unavailable', detail }),
};

/** The problem document itself (also used for per-item results inside a batch response). */
export function problemBody(status: number, p: Omit<Problem, 'status'>): Problem {
  return { ...p, type: `https://notiflow.dev/problems/${p.type}`, status };
}

export function problemResponse(c: Context, status: number, p: Omit<Problem, 'status'>): Response {
  return c.body(JSON.stringify(problemBody(status, p)), status as ContentfulStatusCode, { 'Content-Type': 'application/problem+json' });
}
