import { expect } from 'vitest';

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string }[];
}

/** Asserts an RFC 9457 problem with this status (in the answer and the body) whose detail matches `detail` when given. */
export async function expectProblem(res: Response, status: number, detail?: RegExp): Promise<ProblemBody> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as ProblemBody;
  if (detail) expect(body.detail).toMatch(detail);
  expect(body.status).toBe(status);
  expect(body.type).toMatch(/^https:\/\/notiflow\.dev\/problems\//);
  expect(body.title).toBeTruthy();
  return body;
}
