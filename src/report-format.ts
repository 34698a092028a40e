/** Version of the JSON documents printed with --json and returned by the API; bump on incompatible changes. */
export const FORMAT_VERSION = 1;
