/* hash: SHA-256, SHA-1 and MD5 digests of text (UTF-8) or of base64-encoded bytes. */
#include "cloche_tool.h"

/* ---- SHA-256 (FIPS 180-4) ---- */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* Compilers turn this into one load and a byte swap (wasm has no byte swap: shifts). */
static uint32_t load_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#define CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define BSIG0(x) (ROR(x, 2) ^ ROR(x, 13) ^ ROR(x, 22))
#define BSIG1(x) (ROR(x, 6) ^ ROR(x, 11) ^ ROR(x, 25))
#define SSIG0(x) (ROR(x, 7) ^ ROR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROR(x, 17) ^ ROR(x, 19) ^ ((x) >> 10))
/* Round i with message word W(i). Instead of moving the eight working variables along after
   each round, the next round names them one place further on (see ROUNDS8). */
#define ROUND(a, b, c, d, e, f, g, h, i)                            \
  do {                                                              \
    uint32_t t1 = h + BSIG1(e) + CH(e, f, g) + K256[i] + W(i);     \
    d += t1;                                                        \
    h = t1 + BSIG0(a) + MAJ(a, b, c);                               \
  } while (0)
#define ROUNDS8(i)                          \
  ROUND(a, b, c, d, e, f, g, h, (i) + 0);   \
  ROUND(h, a, b, c, d, e, f, g, (i) + 1);   \
  ROUND(g, h, a, b, c, d, e, f, (i) + 2);   \
  ROUND(f, g, h, a, b, c, d, e, (i) + 3);   \
  ROUND(e, f, g, h, a, b, c, d, (i) + 4);   \
  ROUND(d, e, f, g, h, a, b, c, (i) + 5);   \
  ROUND(c, d, e, f, g, h, a, b, (i) + 6);   \
  ROUND(b, c, d, e, f, g, h, a, (i) + 7)

/* The 64 rounds written out, so every index is a constant: the message schedule lives in 16
   words, w[i & 15], updated as it goes, and the compiler keeps it and the state in registers. A
   function of its own per block, so that a browser's engine tiers it up while the first call is
   still hashing. */
static void sha256_block(uint32_t *s, const unsigned char *p) {
  uint32_t w[16];
  for (int i = 0; i < 16; i++) w[i] = load_be32(p + 4 * i);
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4], f = s[5], g = s[6], h = s[7];
#define W(i) w[(i) & 15]
  ROUNDS8(0);
  ROUNDS8(8);
#undef W
#define W(i) (w[(i) & 15] += SSIG1(w[((i) - 2) & 15]) + w[((i) - 7) & 15] + SSIG0(w[((i) - 15) & 15]))
  ROUNDS8(16);
  ROUNDS8(24);
  ROUNDS8(32);
  ROUNDS8(40);
  ROUNDS8(48);
  ROUNDS8(56);
#undef W
  s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e; s[5] += f; s[6] += g; s[7] += h;
}

/* ---- SHA-1 (FIPS 180-4) ---- */
static void sha1_block(uint32_t *s, const unsigned char *p) {
  uint32_t w[80];
  for (int i = 0; i < 16; i++) w[i] = load_be32(p + 4 * i);
  for (int i = 16; i < 80; i++) w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3], e = s[4];
  for (int i = 0; i < 80; i++) {
    uint32_t f, k;
    if (i < 20) { f = (b & c) | (~b & d); k = 0x5a827999; }
    else if (i < 40) { f = b ^ c ^ d; k = 0x6ed9eba1; }
    else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8f1bbcdc; }
    else { f = b ^ c ^ d; k = 0xca62c1d6; }
    uint32_t t = ROL(a, 5) + f + e + k + w[i];
    e = d; d = c; c = ROL(b, 30); b = a; a = t;
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d; s[4] += e;
}

/* ---- MD5 (RFC 1321) ---- */
static const uint32_t K_MD5[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const unsigned char R_MD5[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                        5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void md5_block(uint32_t *s, const unsigned char *p) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++)
    m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
           (uint32_t)p[4 * i + 3] << 24;
  uint32_t a = s[0], b = s[1], c = s[2], d = s[3];
  for (int i = 0; i < 64; i++) {
    uint32_t f;
    int g;
    if (i < 16) { f = (b & c) | (~b & d); g = i; }
    else if (i < 32) { f = (d & b) | (~d & c); g = (5 * i + 1) % 16; }
    else if (i < 48) { f = b ^ c ^ d; g = (3 * i + 5) % 16; }
    else { f = c ^ (b | ~d); g = (7 * i) % 16; }
    uint32_t t = d;
    d = c;
    c = b;
    b = b + ROL(a + f + K_MD5[i] + m[g], R_MD5[i]);
    a = t;
  }
  s[0] += a; s[1] += b; s[2] += c; s[3] += d;
}

/* Merkle-Damgard padding shared by all three: big-endian length for SHA, little-endian for MD5. */
static void digest(void (*block)(uint32_t *, const unsigned char *), uint32_t *state,
                   const unsigned char *data, size_t length, int big_endian) {
  size_t full = length / 64 * 64;
  for (size_t i = 0; i < full; i += 64) block(state, data + i);
  unsigned char tail[128] = {0};
  size_t rest = length - full;
  memcpy(tail, data + full, rest);
  tail[rest] = 0x80;
  size_t tail_length = rest + 9 <= 64 ? 64 : 128;
  uint64_t bits = (uint64_t)length * 8;
  for (int i = 0; i < 8; i++)
    tail[tail_length - 1 - i] = (unsigned char)(big_endian ? bits >> (8 * i) : 0);
  if (!big_endian)
    for (int i = 0; i < 8; i++) tail[tail_length - 8 + i] = (unsigned char)(bits >> (8 * i));
  for (size_t i = 0; i < tail_length; i += 64) block(state, tail + i);
}

static void hex_words(char *out, const uint32_t *words, int count, int big_endian) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < count; i++)
    for (int k = 0; k < 4; k++) {
      unsigned char byte = (unsigned char)(big_endian ? words[i] >> (24 - 8 * k) : words[i] >> (8 * k));
      *out++ = hex[byte >> 4];
      *out++ = hex[byte & 15];
    }
  *out = '\0';
}

int main(void) {
  cloche_request request = cloche_read_request();
  size_t text_length, b64_length, length;
  const char *text = cloche_arg_string(&request, "text", &text_length, false);
  const char *b64 = cloche_arg_string(&request, "base64", &b64_length, false);
  if ((text != NULL) == (b64 != NULL)) cloche_fail("give exactly one of text or base64");
  const unsigned char *data = (const unsigned char *)text;
  length = text_length;
  if (b64) {
    data = cloche_base64_decode(b64, b64_length, &length);
    if (!data) cloche_fail("argument base64 is not valid base64");
  }
  char hex[65];
  if (cloche_tool_is(&request, "sha256")) {
    uint32_t s[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    digest(sha256_block, s, data, length, 1);
    hex_words(hex, s, 8, 1);
  } else if (cloche_tool_is(&request, "sha1")) {
    uint32_t s[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    digest(sha1_block, s, data, length, 1);
    hex_words(hex, s, 5, 1);
  } else if (cloche_tool_is(&request, "md5")) {
    uint32_t s[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    digest(md5_block, s, data, length, 0);
    hex_words(hex, s, 4, 0);
  } else {
    cloche_fail("unknown tool %s", request.tool);
  }
  cloche_begin_object();
  cloche_key("algorithm");
  cloche_string(request.tool);
  cloche_key("hex");
  cloche_string(hex);
  cloche_key("bytes");
  cloche_int((long long)length);
  cloche_end_object();
  return cloche_finish();
}
