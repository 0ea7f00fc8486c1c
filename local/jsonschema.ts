/**
 * The JSON-schema (draft 4) checks API Gateway's request validator applies to bodies, for the keywords
 * API models use: type, properties, required, additionalProperties, items, min/maxItems, min/maxLength,
 * pattern, enum, minimum/maximum (with draft-4 boolean exclusives), min/maxProperties. Messages follow
 * API Gateway's validator so `$context.error.validationErrorString` reads the same locally.
 */

type Schema = Record<string, unknown>;

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(allowed: string, actual: string): boolean {
  return allowed === actual || (allowed === 'number' && actual === 'integer');
}

function validateAt(schema: Schema, value: unknown, errors: string[]): void {
  const actual = typeOf(value);
  if (schema.type !== undefined) {
    const allowed = Array.isArray(schema.type) ? (schema.type as string[]) : [String(schema.type)];
    if (!allowed.some((type) => typeMatches(type, actual))) {
      errors.push(
        `instance type (${actual}) does not match any allowed primitive type (allowed: ${JSON.stringify(allowed)})`,
      );
      return;
    }
  }
  if (
    Array.isArray(schema.enum) &&
    !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))
  ) {
    errors.push(
      `instance value (${JSON.stringify(value)}) not found in enum (possible values: ${JSON.stringify(schema.enum)})`,
    );
  }
  if (actual === 'object') validateObject(schema, value as Record<string, unknown>, errors);
  if (actual === 'array') validateArray(schema, value as unknown[], errors);
  if (actual === 'string') validateString(schema, value as string, errors);
  if (actual === 'number' || actual === 'integer') validateNumber(schema, value as number, errors);
}

function validateObject(schema: Schema, value: Record<string, unknown>, errors: string[]): void {
  const required = ((schema.required as string[] | undefined) ?? []).filter(
    (key) => !Object.hasOwn(value, key),
  );
  if (required.length > 0)
    errors.push(`object has missing required properties (${JSON.stringify(required.sort())})`);
  const properties = (schema.properties ?? {}) as Record<string, Schema>;
  const keys = Object.keys(value);
  for (const key of keys) if (properties[key]) validateAt(properties[key], value[key], errors);
  const extra = keys.filter((key) => !Object.hasOwn(properties, key));
  if (schema.additionalProperties === false && extra.length > 0) {
    errors.push(
      `object instance has properties which are not allowed by the schema: ${JSON.stringify(extra.sort())}`,
    );
  } else if (typeof schema.additionalProperties === 'object' && schema.additionalProperties !== null) {
    for (const key of extra) validateAt(schema.additionalProperties as Schema, value[key], errors);
  }
  if (typeof schema.minProperties === 'number' && keys.length < schema.minProperties) {
    errors.push(
      `object has too few properties (found ${keys.length} but schema requires at least ${schema.minProperties})`,
    );
  }
  if (typeof schema.maxProperties === 'number' && keys.length > schema.maxProperties) {
    errors.push(
      `object has too many properties (found ${keys.length} but schema requires at most ${schema.maxProperties})`,
    );
  }
}

function validateArray(schema: Schema, value: unknown[], errors: string[]): void {
  if (typeof schema.minItems === 'number' && value.length < schema.minItems) {
    errors.push(
      `array is too short: must have at least ${schema.minItems} elements but instance has ${value.length} elements`,
    );
  }
  if (typeof schema.maxItems === 'number' && value.length > schema.maxItems) {
    errors.push(
      `array is too long: must have at most ${schema.maxItems} elements but instance has ${value.length} elements`,
    );
  }
  if (typeof schema.items === 'object' && schema.items !== null && !Array.isArray(schema.items)) {
    for (const item of value) validateAt(schema.items as Schema, item, errors);
  }
}

function validateString(schema: Schema, value: string, errors: string[]): void {
  const length = [...value].length;
  if (typeof schema.minLength === 'number' && length < schema.minLength) {
    errors.push(
      `string ${JSON.stringify(value)} is too short (length: ${length}, required minimum: ${schema.minLength})`,
    );
  }
  if (typeof schema.maxLength === 'number' && length > schema.maxLength) {
    errors.push(
      `string ${JSON.stringify(value)} is too long (length: ${length}, maximum allowed: ${schema.maxLength})`,
    );
  }
  if (typeof schema.pattern === 'string' && !new RegExp(schema.pattern, 'u').test(value)) {
    errors.push(
      `ECMA 262 regex ${JSON.stringify(schema.pattern)} does not match input string ${JSON.stringify(value)}`,
    );
  }
}

function validateNumber(schema: Schema, value: number, errors: string[]): void {
  if (typeof schema.minimum === 'number') {
    const below = schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum;
    if (below)
      errors.push(
        `numeric instance is lower than the required minimum (minimum: ${schema.minimum}, found: ${value})`,
      );
  }
  if (typeof schema.maximum === 'number') {
    const above = schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum;
    if (above)
      errors.push(
        `numeric instance is greater than the required maximum (maximum: ${schema.maximum}, found: ${value})`,
      );
  }
}

/**
 * The validation errors of `value` against `schema` (empty when valid).
 * @example validateJsonSchema({ type: 'object', required: ['instances'] }, {}) // ['object has missing required properties (["instances"])']
 */
export function validateJsonSchema(schema: Record<string, unknown>, value: unknown): string[] {
  const errors: string[] = [];
  validateAt(schema, value, errors);
  return errors;
}
