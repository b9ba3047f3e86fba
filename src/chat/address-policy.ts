/**
 * Which IP addresses the link preview fetcher may connect to: public unicast
 * only. Refused: unspecified, "this network", private (RFC 1918), CGNAT
 * (100.64/10), loopback, link-local, IETF protocol and documentation ranges,
 * benchmarking, multicast, reserved and broadcast; for IPv6 the same in their
 * IPv6 forms (::, ::1, fe80::/10, fc00::/7 unique local, fec0::/10 site-local,
 * ff00::/8 multicast, 2001:db8::/32, 100::/64, Teredo 2001::/32, the
 * deprecated IPv4-compatible ::/96) and any IPv6 address that embeds an IPv4
 * address (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96, 6to4 2002::/16) is
 * judged by that IPv4 address. An operator may allow ranges back (the
 * chat.link_preview_allowed_cidrs setting, empty by default).
 */
import net from "node:net";

export interface ParsedIp {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** Parses an IPv4 or IPv6 literal (a zone index "%eth0" is dropped); null for anything else. */
export function parseIp(input: string): ParsedIp | null {
  const address = input.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  const family = net.isIP(address);
  if (family === 4) return { family: 4, bytes: Uint8Array.from(address.split(".").map(Number)) };
  if (family !== 6) return null;
  let text = address.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = dotted[1].split(".").map(Number);
    text = text.slice(0, -dotted[1].length) + `${((v4[0] << 8) | v4[1]).toString(16)}:${((v4[2] << 8) | v4[3]).toString(16)}`;
  }
  const [head, rest] = text.includes("::") ? text.split("::") : [text, null];
  const left = head ? head.split(":") : [];
  const right = rest ? rest.split(":") : [];
  const groups = rest === null ? left : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const value = parseInt(g, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return { family: 6, bytes };
}

export interface Cidr {
  family: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

/** Parses "a.b.c.d/n" or "x::/n" (a bare address is a /32 or /128); throws on anything else. */
export function parseCidr(text: string): Cidr {
  const [addr, prefixText] = text.trim().split("/");
  const ip = parseIp(addr);
  const max = ip?.family === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!ip || !Number.isInteger(prefix) || prefix < 0 || prefix > max) throw new Error(`not an address range: ${text}`);
  return { family: ip.family, bytes: ip.bytes, prefix };
}

export function inCidr(ip: ParsedIp, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false;
  let bits = cidr.prefix;
  for (let i = 0; bits > 0; i += 1, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip.bytes[i] & mask) !== (cidr.bytes[i] & mask)) return false;
  }
  return true;
}

const FORBIDDEN_V4 = [
  "0.0.0.0/8", // unspecified, "this network"
  "10.0.0.0/8", // private
  "100.64.0.0/10", // CGNAT (shared address space)
  "127.0.0.0/8", // loopback
  "169.254.0.0/16", // link-local (cloud metadata lives here)
  "172.16.0.0/12", // private
  "192.0.0.0/24", // IETF protocol assignments
  "192.0.2.0/24", // documentation
  "192.88.99.0/24", // 6to4 relay anycast
  "192.168.0.0/16", // private
  "198.18.0.0/15", // benchmarking
  "198.51.100.0/24", // documentation
  "203.0.113.0/24", // documentation
  "224.0.0.0/4", // multicast
  "240.0.0.0/4", // reserved, and 255.255.255.255 broadcast
].map(parseCidr);

const FORBIDDEN_V6 = [
  "::/96", // unspecified, loopback (::1 is inside) and the deprecated IPv4-compatible addresses
  "100::/64", // discard
  "2001::/32", // Teredo
  "2001:db8::/32", // documentation
  "fc00::/7", // unique local
  "fe80::/10", // link-local
  "fec0::/10", // site-local (deprecated)
  "ff00::/8", // multicast
].map(parseCidr);

const EMBEDDING_V4 = [
  { cidr: parseCidr("::ffff:0:0/96"), offset: 12 }, // IPv4-mapped
  { cidr: parseCidr("64:ff9b::/96"), offset: 12 }, // NAT64
  { cidr: parseCidr("2002::/16"), offset: 2 }, // 6to4
];

/** The IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4), if any. */
export function embeddedIpv4(ip: ParsedIp): ParsedIp | null {
  if (ip.family !== 6) return null;
  for (const { cidr, offset } of EMBEDDING_V4) {
    if (inCidr(ip, cidr)) return { family: 4, bytes: ip.bytes.slice(offset, offset + 4) };
  }
  return null;
}

export interface AddressPolicy {
  /** Ranges allowed although they are forbidden by default (an operator's intranet, a test server). */
  allowed: Cidr[];
}

export const DEFAULT_POLICY: AddressPolicy = { allowed: [] };

export function makePolicy(allowedCidrs: readonly string[]): AddressPolicy {
  return { allowed: allowedCidrs.map(parseCidr) };
}

/** Whether the fetcher may connect to this address under the policy. Unparseable: no. */
export function isAddressAllowed(address: string, policy: AddressPolicy = DEFAULT_POLICY): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  if (policy.allowed.some((c) => inCidr(ip, c))) return true;
  const v4 = embeddedIpv4(ip);
  if (v4) return isAddressAllowed(v4.bytes.join("."), policy);
  return !(ip.family === 4 ? FORBIDDEN_V4 : FORBIDDEN_V6).some((c) => inCidr(ip, c));
}
