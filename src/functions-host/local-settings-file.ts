import { existsSync, readFileSync } from 'node:fs';

import { z } from 'zod';

const localSettingsSchema = z.object({
  Values: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});

/**
 * Copies the `Values` of local.settings.json into the environment, as the Functions Core Tools
 * do; a variable already set in the environment wins.
 * @throws Error naming the file when it is not valid JSON of that shape.
 */
export function applyLocalSettingsFile(file: string, env: NodeJS.ProcessEnv): void {
  if (!existsSync(file)) {
    return;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new Error(`${file} is not valid JSON`);
  }
  const result = localSettingsSchema.safeParse(parsed);
  if (!result.success) {
    throw new Error(`${file} must hold an object with a "Values" object of strings`);
  }
  for (const [key, value] of Object.entries(result.data.Values ?? {})) {
    if (env[key] === undefined) {
      env[key] = String(value);
    }
  }
}
