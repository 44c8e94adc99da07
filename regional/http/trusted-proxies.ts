import { BlockList, isIP } from "node:net";
import { z } from "zod";

/** The peers whose forwarded-address headers (`X-Forwarded-For`, `cf-connecting-ip`) are believed. */
export interface TrustedProxies {
  trusts(address: string | null): boolean;
}

/** No proxy is trusted: every forwarded-address header is only a claim. */
export const noTrustedProxies: TrustedProxies = { trusts: () => false };

interface Cidr {
  address: string;
  prefix: number;
  family: "ipv4" | "ipv6";
}

/** `10.0.0.0/8`, `2001:db8::/32`, or one address (`/32`, `/128`); null for anything else. */
export function parseCidr(text: string): Cidr | null {
  const [address = "", prefixText, ...rest] = text.trim().split("/");
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const family = version === 4 ? "ipv4" : "ipv6";
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) return null;
  return { address, prefix: Number(prefixText), family };
}

export function trustedProxies(cidrs: readonly string[]): TrustedProxies {
  if (cidrs.length === 0) return noTrustedProxies;
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (!cidr) throw new Error(`not an address or CIDR: ${JSON.stringify(text)}`);
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return {
    trusts(address) {
      const version = address ? isIP(address) : 0;
      // BlockList matches IPv4-mapped IPv6 peers (::ffff:10.0.0.1) against IPv4 ranges too.
      return version !== 0 && list.check(address as string, version === 4 ? "ipv4" : "ipv6");
    },
  };
}

/** TRUSTED_PROXIES: addresses or CIDRs separated by commas or spaces; unset, none. */
export const cidrListSetting = z
  .string()
  .optional()
  .transform((value) => (value ?? "").split(/[\s,]+/).filter(Boolean))
  .pipe(z.array(z.string().refine((text) => parseCidr(text) !== null, "not an IP address or CIDR")));
