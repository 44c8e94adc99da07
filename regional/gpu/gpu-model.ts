/**
 * Marketplaces name the same GPU differently (`RTX 4090`, `NVIDIA GeForce RTX 4090`,
 * `H100_SXM`, `NVIDIA H100 80GB HBM3`): one display name, and a loose match for filters.
 */
export function displayGpuModel(name: string): string {
  return name
    .replaceAll("_", " ")
    .replace(/\b(NVIDIA|GeForce|AMD|Radeon)\b/gi, "")
    .replace(/\b\d+\s*GB\b/gi, "")
    .replace(/\s+/g, " ")
    .trim();
}

const key = (name: string): string =>
  displayGpuModel(name)
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, "");

/** `H100` matches `H100 SXM` and `H100 HBM3`; `rtx-4090` matches `RTX 4090`. */
export function gpuModelMatches(model: string, wanted: string): boolean {
  return key(model).includes(key(wanted));
}

/** Memory per GPU when the marketplace writes it into the name (`... 80GB HBM3`). */
export function vramFromName(name: string): number | null {
  const match = /\b(\d+)\s*GB\b/i.exec(name);
  return match ? Number(match[1]) : null;
}
