/*
 * cloche_tool.h: the Cloche WASM tool ABI for C, in one header with no dependencies beyond libc.
 *
 * A tool module is a WASI preview 1 command: it reads one request from stdin,
 *     {"tool": "<tool name>", "arguments": {...}}
 * and writes one JSON object on stdout (exit status 0), or {"error": "..."} (non-zero status).
 * See docs/wasm-tools.md for the whole ABI.
 *
 *     #include "cloche_tool.h"
 *     int main(void) {
 *       cloche_request request = cloche_read_request();
 *       if (cloche_tool_is(&request, "shout")) {
 *         size_t length;
 *         const char *text = cloche_arg_string(&request, "text", &length, true);
 *         cloche_begin_object();
 *         cloche_key("length");
 *         cloche_int((long long)length);
 *         cloche_end_object();
 *         return cloche_finish();
 *       }
 *       cloche_fail("unknown tool %s", request.tool);
 *     }
 *
 * Output is buffered until cloche_finish(), so cloche_fail() may be called at any point, even
 * halfway through writing a result: only the error reaches stdout.
 */
#ifndef CLOCHE_TOOL_H
#define CLOCHE_TOOL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLOCHE_MAX_DEPTH 64

typedef enum {
  CLOCHE_NULL,
  CLOCHE_BOOL,
  CLOCHE_NUMBER,
  CLOCHE_STRING,
  CLOCHE_ARRAY,
  CLOCHE_OBJECT
} cloche_type;

/* One parsed JSON value. Strings are decoded UTF-8, NUL-terminated, `length` bytes long. */
typedef struct cloche_json {
  cloche_type type;
  bool boolean;
  double number;
  char *string;
  size_t length;
  struct cloche_json *first; /* array items or object members, in order */
  struct cloche_json *next;  /* the next sibling */
  char *key;                 /* the member name, when inside an object */
  size_t count;              /* number of items or members */
} cloche_json;

typedef struct {
  const char *tool;        /* the tool name, unqualified ("sha256", not "hash.sha256") */
  cloche_json *arguments;  /* always an object (empty when the request had none) */
} cloche_request;

/* ---- errors ---------------------------------------------------------------------------- */

static inline void cloche__write_all(const char *data, size_t length) {
  while (length > 0) {
    size_t written = fwrite(data, 1, length, stdout);
    if (written == 0) break;
    data += written;
    length -= written;
  }
  fflush(stdout);
}

static inline void cloche__escape_to(FILE *out, const char *s, size_t length);

/* Write {"error": message} on stdout and exit with status 1. Never returns. */
__attribute__((noreturn, format(printf, 1, 2))) static inline void cloche_fail(const char *format,
                                                                               ...) {
  char message[1024];
  va_list args;
  va_start(args, format);
  vsnprintf(message, sizeof message, format, args);
  va_end(args);
  fputs("{\"error\":", stdout);
  cloche__escape_to(stdout, message, strlen(message));
  fputs("}\n", stdout);
  fflush(stdout);
  exit(1);
}

static inline void *cloche__alloc(size_t size) {
  void *p = calloc(1, size ? size : 1);
  if (!p) cloche_fail("out of memory (allocating %zu bytes)", size);
  return p;
}

/* ---- parsing --------------------------------------------------------------------------- */

typedef struct {
  const char *at;
  const char *end;
  int depth;
} cloche__parser;

static inline void cloche__skip_space(cloche__parser *p) {
  while (p->at < p->end && (*p->at == ' ' || *p->at == '\t' || *p->at == '\n' || *p->at == '\r'))
    p->at++;
}

static inline size_t cloche__put_utf8(char *out, uint32_t cp) {
  if (cp < 0x80) { out[0] = (char)cp; return 1; }
  if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2;
  }
  if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12)); out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F)); return 3;
  }
  out[0] = (char)(0xF0 | (cp >> 18)); out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); out[3] = (char)(0x80 | (cp & 0x3F)); return 4;
}

static inline int cloche__hex4(cloche__parser *p, uint32_t *value) {
  if (p->end - p->at < 4) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    char c = *p->at++;
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
    else return 0;
  }
  *value = v;
  return 1;
}

/* Parses a string at p->at (which is at the opening quote); returns its decoded bytes. */
static inline char *cloche__parse_string(cloche__parser *p, size_t *length) {
  p->at++;
  const char *start = p->at;
  /* The decoded form is never longer than the escaped one. */
  while (p->at < p->end && *p->at != '"') p->at += (*p->at == '\\') ? 2 : 1;
  if (p->at >= p->end) cloche_fail("invalid request: unterminated string");
  char *out = (char *)cloche__alloc((size_t)(p->at - start) + 1);
  size_t n = 0;
  p->at = start;
  while (*p->at != '"') {
    unsigned char c = (unsigned char)*p->at++;
    if (c < 0x20) cloche_fail("invalid request: control character in a string");
    if (c != '\\') { out[n++] = (char)c; continue; }
    char e = *p->at++;
    switch (e) {
      case '"': out[n++] = '"'; break;
      case '\\': out[n++] = '\\'; break;
      case '/': out[n++] = '/'; break;
      case 'b': out[n++] = '\b'; break;
      case 'f': out[n++] = '\f'; break;
      case 'n': out[n++] = '\n'; break;
      case 'r': out[n++] = '\r'; break;
      case 't': out[n++] = '\t'; break;
      case 'u': {
        uint32_t cp;
        if (!cloche__hex4(p, &cp)) cloche_fail("invalid request: bad \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t low;
          if (p->end - p->at >= 6 && p->at[0] == '\\' && p->at[1] == 'u') {
            p->at += 2;
            if (!cloche__hex4(p, &low) || low < 0xDC00 || low > 0xDFFF)
              cloche_fail("invalid request: bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          cp = 0xFFFD;
        }
        n += cloche__put_utf8(out + n, cp);
        break;
      }
      default: cloche_fail("invalid request: bad escape \\%c", e);
    }
  }
  p->at++;
  out[n] = '\0';
  *length = n;
  return out;
}

static inline cloche_json *cloche__parse_value(cloche__parser *p);

static inline int cloche__literal(cloche__parser *p, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(p->end - p->at) >= n && memcmp(p->at, word, n) == 0) { p->at += n; return 1; }
  return 0;
}

static inline cloche_json *cloche__parse_value(cloche__parser *p) {
  cloche__skip_space(p);
  if (p->at >= p->end) cloche_fail("invalid request: unexpected end of JSON");
  cloche_json *v = (cloche_json *)cloche__alloc(sizeof *v);
  char c = *p->at;
  if (c == '{' || c == '[') {
    if (++p->depth > CLOCHE_MAX_DEPTH) cloche_fail("invalid request: nested too deeply");
    char close = c == '{' ? '}' : ']';
    v->type = c == '{' ? CLOCHE_OBJECT : CLOCHE_ARRAY;
    p->at++;
    cloche__skip_space(p);
    cloche_json **tail = &v->first;
    if (p->at < p->end && *p->at == close) {
      p->at++;
    } else {
      for (;;) {
        char *key = NULL;
        cloche__skip_space(p);
        if (v->type == CLOCHE_OBJECT) {
          size_t key_length;
          if (p->at >= p->end || *p->at != '"') cloche_fail("invalid request: expected a key");
          key = cloche__parse_string(p, &key_length);
          cloche__skip_space(p);
          if (p->at >= p->end || *p->at != ':') cloche_fail("invalid request: expected ':'");
          p->at++;
        }
        cloche_json *item = cloche__parse_value(p);
        item->key = key;
        *tail = item;
        tail = &item->next;
        v->count++;
        cloche__skip_space(p);
        if (p->at < p->end && *p->at == ',') { p->at++; continue; }
        if (p->at < p->end && *p->at == close) { p->at++; break; }
        cloche_fail("invalid request: expected ',' or '%c'", close);
      }
    }
    p->depth--;
  } else if (c == '"') {
    v->type = CLOCHE_STRING;
    v->string = cloche__parse_string(p, &v->length);
  } else if (cloche__literal(p, "true")) {
    v->type = CLOCHE_BOOL;
    v->boolean = true;
  } else if (cloche__literal(p, "false")) {
    v->type = CLOCHE_BOOL;
  } else if (cloche__literal(p, "null")) {
    v->type = CLOCHE_NULL;
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    char buffer[64];
    size_t n = 0;
    while (p->at < p->end && n < sizeof buffer - 1 && strchr("+-0123456789.eE", *p->at))
      buffer[n++] = *p->at++;
    buffer[n] = '\0';
    char *stop;
    v->type = CLOCHE_NUMBER;
    v->number = strtod(buffer, &stop);
    if (*stop != '\0') cloche_fail("invalid request: bad number %s", buffer);
  } else {
    cloche_fail("invalid request: unexpected character '%c'", c);
  }
  return v;
}

/* Parse `length` bytes of JSON text; fails (cloche_fail) on invalid JSON. */
static inline cloche_json *cloche_parse(const char *text, size_t length) {
  cloche__parser p = {text, text + length, 0};
  cloche_json *v = cloche__parse_value(&p);
  cloche__skip_space(&p);
  if (p.at != p.end) cloche_fail("invalid request: trailing characters after the JSON value");
  return v;
}

/* The member `key` of an object, or NULL. */
static inline cloche_json *cloche_get(const cloche_json *object, const char *key) {
  if (!object || object->type != CLOCHE_OBJECT) return NULL;
  for (cloche_json *m = object->first; m; m = m->next)
    if (strcmp(m->key, key) == 0) return m;
  return NULL;
}

/* Read the whole of stdin and parse the request; fails on a malformed one. */
static inline cloche_request cloche_read_request(void) {
  size_t capacity = 4096, length = 0;
  char *text = (char *)cloche__alloc(capacity);
  for (;;) {
    if (length == capacity) {
      capacity *= 2;
      text = (char *)realloc(text, capacity);
      if (!text) cloche_fail("out of memory reading the request");
    }
    size_t got = fread(text + length, 1, capacity - length, stdin);
    if (got == 0) break;
    length += got;
  }
  cloche_json *root = cloche_parse(text, length);
  cloche_json *tool = cloche_get(root, "tool");
  if (!tool || tool->type != CLOCHE_STRING) cloche_fail("invalid request: no \"tool\" string");
  cloche_json *arguments = cloche_get(root, "arguments");
  if (!arguments) {
    arguments = (cloche_json *)cloche__alloc(sizeof *arguments);
    arguments->type = CLOCHE_OBJECT;
  }
  if (arguments->type != CLOCHE_OBJECT) cloche_fail("invalid request: \"arguments\" is no object");
  cloche_request request = {tool->string, arguments};
  return request;
}

static inline bool cloche_tool_is(const cloche_request *request, const char *name) {
  return strcmp(request->tool, name) == 0;
}

static inline cloche_json *cloche__arg(const cloche_request *request, const char *key,
                                       cloche_type type, const char *type_name, bool required) {
  cloche_json *v = cloche_get(request->arguments, key);
  if (v && v->type == CLOCHE_NULL && !required) return NULL;
  if (!v) {
    if (required) cloche_fail("argument %s is required", key);
    return NULL;
  }
  if (v->type != type) cloche_fail("argument %s must be %s", key, type_name);
  return v;
}

/* A string argument (NULL when absent or null and not required); `length` may be NULL. */
static inline const char *cloche_arg_string(const cloche_request *request, const char *key,
                                            size_t *length, bool required) {
  cloche_json *v = cloche__arg(request, key, CLOCHE_STRING, "a string", required);
  if (length) *length = v ? v->length : 0;
  return v ? v->string : NULL;
}

static inline double cloche_arg_number(const cloche_request *request, const char *key,
                                       double fallback) {
  cloche_json *v = cloche__arg(request, key, CLOCHE_NUMBER, "a number", false);
  return v ? v->number : fallback;
}

/* An integer argument; fails when the number has a fraction or is out of range. */
static inline long long cloche_arg_int(const cloche_request *request, const char *key,
                                       long long fallback) {
  cloche_json *v = cloche__arg(request, key, CLOCHE_NUMBER, "an integer", false);
  if (!v) return fallback;
  if (v->number != (double)(long long)v->number || v->number > 9007199254740992.0 ||
      v->number < -9007199254740992.0)
    cloche_fail("argument %s must be an integer", key);
  return (long long)v->number;
}

static inline bool cloche_arg_bool(const cloche_request *request, const char *key, bool fallback) {
  cloche_json *v = cloche__arg(request, key, CLOCHE_BOOL, "a boolean", false);
  return v ? v->boolean : fallback;
}

/* ---- writing --------------------------------------------------------------------------- */

static char *cloche__out;
static size_t cloche__out_length, cloche__out_capacity;
static int cloche__depth;
static bool cloche__has_items[CLOCHE_MAX_DEPTH + 1];
static bool cloche__after_key;

static inline void cloche__emit(const char *data, size_t length) {
  if (cloche__out_length + length > cloche__out_capacity) {
    size_t capacity = cloche__out_capacity ? cloche__out_capacity : 4096;
    while (capacity < cloche__out_length + length) capacity *= 2;
    char *grown = (char *)realloc(cloche__out, capacity);
    if (!grown) cloche_fail("out of memory writing the result");
    cloche__out = grown;
    cloche__out_capacity = capacity;
  }
  memcpy(cloche__out + cloche__out_length, data, length);
  cloche__out_length += length;
}

static inline void cloche__emits(const char *text) { cloche__emit(text, strlen(text)); }

static inline void cloche__before_value(void) {
  if (cloche__after_key) {
    cloche__after_key = false;
    return;
  }
  if (cloche__has_items[cloche__depth]) cloche__emit(",", 1);
  cloche__has_items[cloche__depth] = true;
}

/* JSON string escaping into the output buffer (stdout == NULL) or a FILE. */
static inline void cloche__escape(FILE *out, const char *s, size_t length) {
  static const char hex[] = "0123456789abcdef";
  char piece[8];
#define CLOCHE__PUT(data, n) (out ? (void)fwrite((data), 1, (n), out) : cloche__emit((data), (n)))
  CLOCHE__PUT("\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    CLOCHE__PUT(s + run, i - run);
    run = i + 1;
    if (c == '"') CLOCHE__PUT("\\\"", 2);
    else if (c == '\\') CLOCHE__PUT("\\\\", 2);
    else if (c == '\n') CLOCHE__PUT("\\n", 2);
    else if (c == '\t') CLOCHE__PUT("\\t", 2);
    else if (c == '\r') CLOCHE__PUT("\\r", 2);
    else {
      memcpy(piece, "\\u00", 4);
      piece[4] = hex[c >> 4];
      piece[5] = hex[c & 15];
      CLOCHE__PUT(piece, 6);
    }
  }
  CLOCHE__PUT(s + run, length - run);
  CLOCHE__PUT("\"", 1);
#undef CLOCHE__PUT
}

static inline void cloche__escape_to(FILE *out, const char *s, size_t length) {
  cloche__escape(out, s, length);
}

static inline void cloche__open(const char *bracket) {
  cloche__before_value();
  if (cloche__depth >= CLOCHE_MAX_DEPTH) cloche_fail("result nested too deeply");
  cloche__emits(bracket);
  cloche__has_items[++cloche__depth] = false;
}

static inline void cloche__close(const char *bracket) {
  cloche__emits(bracket);
  cloche__depth--;
}

static inline void cloche_begin_object(void) { cloche__open("{"); }
static inline void cloche_end_object(void) { cloche__close("}"); }
static inline void cloche_begin_array(void) { cloche__open("["); }
static inline void cloche_end_array(void) { cloche__close("]"); }

/* The next member's name, inside an object. */
static inline void cloche_key(const char *key) {
  cloche__before_value();
  cloche__escape(NULL, key, strlen(key));
  cloche__emit(":", 1);
  cloche__after_key = true;
}

/* A string of `length` bytes; it must be valid UTF-8 (see cloche_utf8_valid). */
static inline void cloche_string_n(const char *s, size_t length) {
  cloche__before_value();
  cloche__escape(NULL, s, length);
}

static inline void cloche_string(const char *s) { cloche_string_n(s, strlen(s)); }

static inline void cloche_int(long long value) {
  char text[32];
  cloche__before_value();
  snprintf(text, sizeof text, "%lld", value);
  cloche__emits(text);
}

/* A finite number (JSON has no NaN or infinity: those are written as null). */
static inline void cloche_number(double value) {
  char text[40];
  cloche__before_value();
  if (value != value || value > 1.7976931348623157e308 || value < -1.7976931348623157e308) {
    cloche__emits("null");
    return;
  }
  snprintf(text, sizeof text, "%.17g", value);
  cloche__emits(text);
}

static inline void cloche_bool(bool value) {
  cloche__before_value();
  cloche__emits(value ? "true" : "false");
}

static inline void cloche_null(void) {
  cloche__before_value();
  cloche__emits("null");
}

/* Write the buffered result on stdout; `return cloche_finish();` from main. */
static inline int cloche_finish(void) {
  if (cloche__depth != 0) cloche_fail("result is incomplete (an object or array is still open)");
  cloche__emit("\n", 1);
  cloche__write_all(cloche__out, cloche__out_length);
  return 0;
}

/* ---- helpers --------------------------------------------------------------------------- */

/* Whether `length` bytes are well-formed UTF-8 (no overlongs, surrogates or values > U+10FFFF). */
static inline bool cloche_utf8_valid(const unsigned char *s, size_t length) {
  size_t i = 0;
  while (i < length) {
    unsigned char c = s[i];
    size_t n;
    uint32_t cp;
    if (c < 0x80) { i++; continue; }
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return false;
    if (length - i <= n) return false; /* truncated sequence */
    for (size_t k = 1; k <= n; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

/* The number of Unicode code points in `length` bytes of UTF-8. */
static inline size_t cloche_utf8_count(const char *s, size_t length) {
  size_t count = 0;
  for (size_t i = 0; i < length; i++) count += ((unsigned char)s[i] & 0xC0) != 0x80;
  return count;
}

static inline int cloche__base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;
  if (c == '/' || c == '_') return 63;
  return -1;
}

/* Decode standard or URL-safe base64 (padding optional, whitespace ignored); returns a malloc'd
   buffer and its length in *out_length, or NULL when the text is not base64. */
static inline unsigned char *cloche_base64_decode(const char *text, size_t length,
                                                  size_t *out_length) {
  unsigned char *out = (unsigned char *)cloche__alloc(length / 4 * 3 + 3);
  size_t n = 0, quad = 0, padding = 0;
  uint32_t bits = 0;
  for (size_t i = 0; i < length; i++) {
    unsigned char c = (unsigned char)text[i];
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') { padding++; continue; }
    int v = cloche__base64_value(c);
    if (v < 0 || padding) { free(out); return NULL; }
    bits = (bits << 6) | (uint32_t)v;
    if (++quad == 4) {
      out[n++] = (unsigned char)(bits >> 16);
      out[n++] = (unsigned char)(bits >> 8);
      out[n++] = (unsigned char)bits;
      quad = 0;
      bits = 0;
    }
  }
  if (quad == 1 || padding > 2 || (padding && (quad + padding) % 4 != 0)) {
    free(out);
    return NULL;
  }
  if (quad == 2) out[n++] = (unsigned char)(bits >> 4);
  if (quad == 3) {
    out[n++] = (unsigned char)(bits >> 10);
    out[n++] = (unsigned char)(bits >> 2);
  }
  *out_length = n;
  return out;
}

/* Standard base64 with padding; returns a malloc'd NUL-terminated string. */
static inline char *cloche_base64_encode(const unsigned char *data, size_t length) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char *out = (char *)cloche__alloc((length + 2) / 3 * 4 + 1);
  size_t n = 0, i = 0;
  for (; i + 2 < length; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
    out[n++] = alphabet[v >> 18];
    out[n++] = alphabet[(v >> 12) & 63];
    out[n++] = alphabet[(v >> 6) & 63];
    out[n++] = alphabet[v & 63];
  }
  if (i < length) {
    uint32_t v = (uint32_t)data[i] << 16 | (i + 1 < length ? (uint32_t)data[i + 1] << 8 : 0);
    out[n++] = alphabet[v >> 18];
    out[n++] = alphabet[(v >> 12) & 63];
    out[n++] = i + 1 < length ? alphabet[(v >> 6) & 63] : '=';
    out[n++] = '=';
  }
  out[n] = '\0';
  return out;
}

#endif /* CLOCHE_TOOL_H */
