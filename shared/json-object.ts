// A JSON object from stored bytes, for the optional side files a stage reads back (the trainer's partial report,
// its running totals): absent, unparsable or not an object reads as empty, never as an error.

export function jsonObjectOf(bytes: Uint8Array | undefined): Record<string, unknown> {
  if (!bytes) return {};
  try {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? { ...parsed } : {};
  } catch {
    return {};
  }
}
