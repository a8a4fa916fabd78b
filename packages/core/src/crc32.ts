/** CRC-32 (IEEE 802.3, the zlib/PNG polynomial), table-driven. */
const TABLE = /* @__PURE__ */ (() => {
  const table = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c;
  }
  return table;
})();

/**
 * CRC-32 over the char codes of `text[start, end)`. Key bodies are ASCII, so char
 * codes are the bytes: no Buffer is allocated on the verification hot path.
 */
export function crc32Ascii(text: string, start = 0, end = text.length): number {
  let crc = -1;
  for (let i = start; i < end; i++) {
    crc = (TABLE[(crc ^ text.charCodeAt(i)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ -1) >>> 0;
}
