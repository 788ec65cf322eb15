// Development and test only: the demo's and the test runner's variables, never read by `npm start`.
import { z } from 'zod';
import { integer, settingsSchema } from '../src/config.ts';

/** The app's variables and the development ones, one field each; pick what an entry point reads. */
export const developmentSettingsSchema = settingsSchema.extend({
  /** `npm run demo` and dev/idp: the local provider's port. */
  DEMO_IDP_PORT: integer('DEMO_IDP_PORT', 0, 65535, 'use a port number such as 5001').prefault('5001'),
  /** `npm run demo`: its database instead of data/demo.db; checked as DATABASE_URL once the demo uses it. */
  DEMO_DATABASE_URL: z.string().optional(),
  /** `postgresql` runs the integration and security suites on PostgreSQL; anything else on SQLite. */
  TEST_DATABASE: z
    .string()
    .optional()
    .transform((value) => (value === 'postgresql' ? 'postgresql' : 'sqlite')),
  /** The admin URL of the PostgreSQL server `npm test` shares with its test processes. */
  TEST_POSTGRES_URL: z.string().optional(),
});
