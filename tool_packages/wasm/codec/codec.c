/* codec: base64 and hex encoding and decoding of text (UTF-8) or bytes. */
#include "cloche_tool.h"

static const char HEX[] = "0123456789abcdef";

/* The input bytes: `text` as UTF-8, or the bytes of `base64`. */
static const unsigned char *input_bytes(const cloche_request *request, size_t *length) {
  size_t text_length, b64_length;
  const char *text = cloche_arg_string(request, "text", &text_length, false);
  const char *b64 = cloche_arg_string(request, "base64", &b64_length, false);
  if ((text != NULL) == (b64 != NULL)) cloche_fail("give exactly one of text or base64");
  if (text) {
    *length = text_length;
    return (const unsigned char *)text;
  }
  unsigned char *data = cloche_base64_decode(b64, b64_length, length);
  if (!data) cloche_fail("argument base64 is not valid base64");
  return data;
}

/* {"text": ... or null when the bytes are not UTF-8, "base64": ..., "hex": ..., "bytes": n} */
static int write_bytes(const unsigned char *data, size_t length) {
  cloche_begin_object();
  cloche_key("text");
  if (cloche_utf8_valid(data, length) && memchr(data, 0, length) == NULL) {
    cloche_string_n((const char *)data, length);
  } else {
    cloche_null();
  }
  cloche_key("base64");
  cloche_string(cloche_base64_encode(data, length));
  cloche_key("bytes");
  cloche_int((long long)length);
  cloche_end_object();
  return cloche_finish();
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int main(void) {
  cloche_request request = cloche_read_request();
  size_t length;
  if (cloche_tool_is(&request, "base64_encode")) {
    const unsigned char *data = input_bytes(&request, &length);
    cloche_begin_object();
    cloche_key("base64");
    cloche_string(cloche_base64_encode(data, length));
    cloche_end_object();
    return cloche_finish();
  }
  if (cloche_tool_is(&request, "hex_encode")) {
    const unsigned char *data = input_bytes(&request, &length);
    char *hex = (char *)cloche__alloc(2 * length + 1);
    for (size_t i = 0; i < length; i++) {
      hex[2 * i] = HEX[data[i] >> 4];
      hex[2 * i + 1] = HEX[data[i] & 15];
    }
    cloche_begin_object();
    cloche_key("hex");
    cloche_string_n(hex, 2 * length);
    cloche_end_object();
    return cloche_finish();
  }
  if (cloche_tool_is(&request, "base64_decode")) {
    const char *b64 = cloche_arg_string(&request, "base64", &length, true);
    size_t n;
    unsigned char *data = cloche_base64_decode(b64, length, &n);
    if (!data) cloche_fail("argument base64 is not valid base64");
    return write_bytes(data, n);
  }
  if (cloche_tool_is(&request, "hex_decode")) {
    const char *hex = cloche_arg_string(&request, "hex", &length, true);
    unsigned char *data = (unsigned char *)cloche__alloc(length / 2 + 1);
    size_t n = 0;
    int high = -1;
    for (size_t i = 0; i < length; i++) {
      if (hex[i] == ' ' || hex[i] == '\n' || hex[i] == ':') continue;
      int v = hex_value(hex[i]);
      if (v < 0) cloche_fail("argument hex has a non-hex character at position %zu", i);
      if (high < 0) {
        high = v;
      } else {
        data[n++] = (unsigned char)(high << 4 | v);
        high = -1;
      }
    }
    if (high >= 0) cloche_fail("argument hex has an odd number of digits");
    return write_bytes(data, n);
  }
  cloche_fail("unknown tool %s", request.tool);
}
