/** Exit codes of `npm run token`, one per thing a script may want to handle (listed in its --help and the README). */
export const EXIT = {
  ok: 0,
  usage: 2,
  noStoredToken: 3,
  severalUsers: 4,
  signInAgain: 5,
  databaseMissing: 6,
  badConfiguration: 7,
  microsoftUnavailable: 8,
  consentRequired: 9,
  scopesRefused: 10,
} as const;
