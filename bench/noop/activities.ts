export async function noop(id: string): Promise<string> {
  return id;
}
