import { precompileTemplates as precompileFiles } from './compile.js';
import { defaultContent, defaultTypes, defaultVariables } from './version-defaults.js';
import { precompileVersion } from './version-render.js';

/**
 * Compiles the repository's templates, and the defaults every tenant starts with as they are stored
 * (version 1 in the built-in layout), at worker start: a broken default fails here, and no tenant's
 * first alert waits for mjml.
 */
export async function precompileTemplates(): Promise<void> {
  await precompileFiles();
  await Promise.all(
    defaultTypes.map((type) =>
      precompileVersion({
        tenantId: '-',
        type,
        version: 1,
        content: defaultContent(type),
        variables: defaultVariables(type),
        layout: null,
        defaultLocale: 'en',
      }),
    ),
  );
}
