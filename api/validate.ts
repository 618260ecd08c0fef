import type { z } from 'zod';
import { problems, type ApiProblem } from './problem.js';

/** A zod failure as the 422 problem, each issue's path prefixed with where it was found (body, query, ...). */
export function zodProblem(error: z.ZodError, where: string): ApiProblem {
  const errors = error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  return problems.invalid(errors.map((e) => `${e.path}: ${e.message}`).join('; '), errors);
}

/** Parses a value the route validates itself (a batch item, a signed body) against a schema. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw zodProblem(result.error, where);
  return result.data;
}
