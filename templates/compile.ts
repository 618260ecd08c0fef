import { TemplateError } from './errors.js';
import { mjmlToHtml } from './mjml.js';
import { PLACEHOLDER } from './substitute.js';

/**
 * Compiles MJML whose `{{name}}` placeholders must come out intact. Each placeholder becomes
 * a plain alphanumeric token while mjml runs (braces could be touched by its parser, CSS
 * inliner or template-syntax handling), then the tokens are checked and turned back.
 */
export async function compileWithPlaceholders(source: string, where = 'template'): Promise<string> {
  const names: string[] = [];
  const tokenFor = (name: string) => {
    let index = names.indexOf(name);
    if (index < 0) index = names.push(name) - 1;
    return `NFVAR${index}X`;
  };
  if (/NFVAR\d+X/.test(source)) throw new TemplateError('invalid_template', `${where}: contains a reserved token`);
  const tokenized = source.replace(PLACEHOLDER, (_, name: string) => tokenFor(name));
  const html = await mjmlToHtml(tokenized, where);

  names.forEach((name, index) => {
    const token = `NFVAR${index}X`;
    const before = tokenized.split(token).length;
    const after = html.split(token).length;
    if (after < before) {
      throw new TemplateError('invalid_template', `${where}: mjml dropped or altered {{${name}}}`, { name });
    }
  });
  return html.replace(/NFVAR(\d+)X/g, (_, index: string) => `{{${names[Number(index)]}}}`);
}
