/**
 * A region filter is either two-letter country codes (`US`, `de,nl`), which marketplaces can
 * filter on server-side, or free text matched anywhere in an offer's location (`Oslo`).
 */
export function countryCodes(region: string | undefined): string[] | undefined {
  if (region === undefined || !/^\s*[A-Za-z]{2}(\s*,\s*[A-Za-z]{2})*\s*$/.test(region)) return undefined;
  return region.split(",").map((code) => code.trim().toUpperCase());
}

/** Offers are located as `Place, CC`: country codes match the code, free text anywhere. */
export function regionMatches(location: string | null, region: string): boolean {
  const codes = countryCodes(region);
  if (!codes) return (location ?? "").toLowerCase().includes(region.trim().toLowerCase());
  const code = (location ?? "").split(",").at(-1)?.trim().toUpperCase() ?? "";
  return codes.includes(code);
}
