import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";

/** Debian's Chromium (`apt-get install chromium`, as `.ci/run` does), or the one CHROMIUM_PATH names. */
export function chromiumPath(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return configured;
  try {
    return execFileSync("which", ["chromium"], { encoding: "utf8" }).trim();
  } catch {
    if (existsSync("/usr/bin/chromium")) return "/usr/bin/chromium";
    throw new Error("Chromium not found: install Debian's `chromium` or set CHROMIUM_PATH");
  }
}

/** Headless Chromium; no sandbox, since CI runs the tests as root. */
export async function launchChromium(): Promise<Browser> {
  return await chromium.launch({ executablePath: chromiumPath(), headless: true, args: ["--no-sandbox", "--headless=new"] });
}
