/** Small files with the right (or a deliberately wrong) first bytes, for upload tests. */

/** A zip local file header for `name` (stored, empty), as the first entry of a docx. */
function zipEntry(name: string): Buffer {
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt16LE(name.length, 26);
  return Buffer.concat([header, Buffer.from(name, "latin1")]);
}

const pad = (head: Buffer, size = 256) => Buffer.concat([head, Buffer.alloc(Math.max(0, size - head.length), 0x20)]);

export const FIXTURES = {
  png: pad(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])),
  jpeg: pad(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0])),
  gif: pad(Buffer.from("GIF89a\x01\x00\x01\x00", "latin1")),
  webp: pad(Buffer.concat([Buffer.from("RIFF"), Buffer.from([0xf0, 0, 0, 0]), Buffer.from("WEBPVP8 ")])),
  pdf: pad(Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "latin1")),
  doc: pad(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0])),
  docx: pad(Buffer.concat([zipEntry("[Content_Types].xml"), zipEntry("_rels/.rels"), zipEntry("word/document.xml")])),
  /** A zip that is not a Word document (no word/ entry). */
  zip: pad(Buffer.concat([zipEntry("readme.txt")])),
  /** A Windows executable (MZ header), e.g. renamed to cv.pdf. */
  exe: pad(Buffer.from("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", "latin1")),
  html: pad(Buffer.from("<!doctype html><script>alert(document.cookie)</script>")),
  svg: pad(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>')),
};
