import { config } from 'dotenv';

// Reads .env into process.env (variables already set win). Quiet: `npm run -s token` must print the token alone.
config({ quiet: true });
