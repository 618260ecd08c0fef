// What the served /openapi.json adds to the route declarations: the request guard every /v1 route
// shares (api/guards.ts refuseUnsafeStrings: no NUL, no unpaired surrogate) stated on each string
// and object key a request can carry, so a request the document calls valid is not refused by it.

/**
 * JSON Schema pattern: no NUL. (An unpaired surrogate, also refused, is no Unicode text at all, so
 * no JSON Schema string holds one; patterns naming surrogates are not portable across validators.)
 */
export const SAFE_TEXT_PATTERN = '^[^\\u0000]*$';

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => !!v && typeof v === 'object' && !Array.isArray(v);

function typesOf(s: Node): string[] {
  return Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
}

/** Marks every string and object key reachable from `schema` (following $refs once each). */
function markSchema(schema: unknown, components: Node, seen: Set<string>): void {
  if (Array.isArray(schema)) {
    for (const s of schema) markSchema(s, components, seen);
    return;
  }
  if (!isNode(schema)) return;
  const ref = typeof schema.$ref === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(schema.$ref)?.[1] : undefined;
  if (ref) {
    if (!seen.has(ref)) {
      seen.add(ref);
      markSchema(components[ref], components, seen);
    }
    return;
  }
  // Any JSON value (z.unknown(), a batch's items): any value whose strings and keys carry no NUL.
  if (!Object.keys(schema).some((k) => !['description', 'title', 'default', 'examples', 'example'].includes(k))) {
    schema.$ref = `#/components/schemas/${ANY_TEXT_VALUE}`;
    return;
  }
  const types = typesOf(schema);
  // Formats (email, uuid, date-time, uri) and patterns already spell out their characters; an enum or const its values.
  if (
    types.includes('string') &&
    schema.pattern === undefined &&
    schema.format === undefined &&
    schema.enum === undefined &&
    schema.const === undefined
  )
    schema.pattern = SAFE_TEXT_PATTERN;
  if (types.includes('object') && schema.additionalProperties !== false) {
    const names = isNode(schema.propertyNames) ? schema.propertyNames : {};
    if (names.pattern === undefined) schema.propertyNames = { ...names, pattern: SAFE_TEXT_PATTERN };
  }
  for (const [key, value] of Object.entries(schema)) {
    // (Not into `not`: what it bars is not what a request may carry.)
    if (['enum', 'const', 'default', 'examples', 'example', 'not', 'propertyNames'].includes(key)) continue;
    if (key === 'properties' && isNode(value)) for (const v of Object.values(value)) markSchema(v, components, seen);
    else if (typeof value === 'object') markSchema(value, components, seen);
  }
}

const ANY_TEXT_VALUE = 'AnyValueWithoutNul';
const anyTextValue = {
  description: 'Any JSON value whose strings and object keys hold no NUL',
  anyOf: [
    { type: ['null', 'boolean', 'number'] },
    { type: 'string', pattern: SAFE_TEXT_PATTERN },
    { type: 'array', items: { $ref: `#/components/schemas/${ANY_TEXT_VALUE}` } },
    {
      type: 'object',
      propertyNames: { pattern: SAFE_TEXT_PATTERN },
      additionalProperties: { $ref: `#/components/schemas/${ANY_TEXT_VALUE}` },
    },
  ],
};

/** The document with the string guard stated on /v1 requests (parameters and bodies); mutates and returns it. */
export function stateStringGuard<D extends { paths?: unknown; components?: unknown }>(doc: D): D {
  if (!isNode(doc.components)) (doc as { components: Node }).components = {};
  const holder = doc.components as Node;
  if (!isNode(holder.schemas)) holder.schemas = {};
  const components = holder.schemas as Node;
  components[ANY_TEXT_VALUE] = anyTextValue;
  const seen = new Set<string>();
  for (const [path, ops] of Object.entries(isNode(doc.paths) ? doc.paths : {})) {
    if (!path.startsWith('/v1/') || !isNode(ops)) continue;
    for (const op of Object.values(ops)) {
      if (!isNode(op)) continue;
      for (const p of Array.isArray(op.parameters) ? op.parameters : []) if (isNode(p)) markSchema(p.schema, components, seen);
      const content = isNode(op.requestBody) && isNode(op.requestBody.content) ? op.requestBody.content : {};
      for (const media of Object.values(content)) if (isNode(media)) markSchema(media.schema, components, seen);
    }
  }
  return doc;
}
