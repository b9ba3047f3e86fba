/**
 * The type of a file decided by its first bytes (magic numbers), never by its
 * name or the client's Content-Type. Our own small check instead of the
 * `file-type` package: file-type 22 is ESM-only and declares Node ≥ 22, and
 * Agora runs on Node 20.19 too; we accept only seven types, each with a
 * well-known signature (docs/files.md).
 */
export const SNIFF_BYTES = 16384;

export const JPEG = "image/jpeg";
export const PNG = "image/png";
export const GIF = "image/gif";
export const WEBP = "image/webp";
export const PDF = "application/pdf";
export const DOC = "application/msword";
export const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

const startsWith = (head: Buffer, bytes: number[], at = 0) =>
  head.length >= at + bytes.length && bytes.every((b, i) => head[at + i] === b);

/**
 * The content type of a file whose first bytes (up to SNIFF_BYTES) are
 * `head`, or null when it is none of the accepted types.
 *
 * - jpeg `FF D8 FF`, png `89 50 4E 47 0D 0A 1A 0A`, gif `GIF87a`/`GIF89a`,
 *   webp `RIFF????WEBP`, pdf `%PDF-`;
 * - doc: an OLE2 compound file `D0 CF 11 E0 A1 B1 1A E1` (Word 97–2003; other
 *   OLE files — xls, msi — have the same header: the slot's rules accept
 *   only documents, and the bytes are served as attachments);
 * - docx: a zip (`PK 03 04`) with an entry under `word/` within the sniffed bytes
 *   (every Word document has `word/document.xml`; Word writes it among the
 *   first entries).
 */
export function sniffContentType(head: Buffer): string | null {
  if (startsWith(head, [0xff, 0xd8, 0xff])) return JPEG;
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return PNG;
  if (startsWith(head, [...Buffer.from("GIF87a")]) || startsWith(head, [...Buffer.from("GIF89a")])) return GIF;
  if (startsWith(head, [...Buffer.from("RIFF")]) && startsWith(head, [...Buffer.from("WEBP")], 8)) return WEBP;
  if (startsWith(head, [...Buffer.from("%PDF-")])) return PDF;
  if (startsWith(head, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return DOC;
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04]) && zipEntryNames(head).some((name) => name.startsWith("word/"))) return DOCX;
  return null;
}

/**
 * Names of the zip local file headers (`PK 03 04`) that appear within `head`:
 * a scan, not a walk, so entries written with data descriptors count too.
 */
function zipEntryNames(head: Buffer): string[] {
  const names: string[] = [];
  const signature = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
  for (let at = head.indexOf(signature); at >= 0 && at + 30 <= head.length; at = head.indexOf(signature, at + 4)) {
    const nameLength = head.readUInt16LE(at + 26);
    if (at + 30 + nameLength > head.length) break;
    names.push(head.toString("latin1", at + 30, at + 30 + nameLength));
  }
  return names;
}
