// Failure messages reach workflow histories and logs, where personal data must not go.
const emailPattern = /[^\s<>"'(),;:]+@[^\s<>"'(),;:]+/g;

export function redactAddresses(text: string): string {
  return text.replace(emailPattern, '<address>');
}
