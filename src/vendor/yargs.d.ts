// yargs as the CLI loads it: `npm run build` bundles it into one file, dist/vendor/yargs.js
// (scripts/bundle-yargs.mjs). Its ~40 modules then load in about half the time, which is most of
// the `--help` cold start. The types are yargs' own.
export { default } from 'yargs';
export { hideBin } from 'yargs/helpers';
