// Types of scripts/build.mjs for the TypeScript that imports it (the tests' `npm start`).
export function isBuildStale(): boolean;
export function build(): void;
export function buildIfStale(): void;
