/* grep: POSIX extended regular expression search (wasi-libc's regcomp/regexec). */
#include <locale.h>
#include <regex.h>

#include "cloche_tool.h"

/* Code point offset of byte offset `at` in `text`. */
static long long chars_before(const char *text, size_t at) {
  return (long long)cloche_utf8_count(text, at);
}

static size_t utf8_step(const char *text, size_t at, size_t length) {
  size_t next = at + 1;
  while (next < length && ((unsigned char)text[next] & 0xC0) == 0x80) next++;
  return next;
}

int main(void) {
  /* Patterns and text are UTF-8: match characters, not bytes (the C locale is byte-wise). */
  setlocale(LC_CTYPE, "C.UTF-8");
  cloche_request request = cloche_read_request();
  if (!cloche_tool_is(&request, "search")) cloche_fail("unknown tool %s", request.tool);
  size_t length;
  const char *pattern = cloche_arg_string(&request, "pattern", NULL, true);
  const char *text = cloche_arg_string(&request, "text", &length, true);
  bool ignore_case = cloche_arg_bool(&request, "ignoreCase", false);
  bool newline = cloche_arg_bool(&request, "multiline", false);
  long long max_matches = cloche_arg_int(&request, "maxMatches", 100);
  if (max_matches < 1 || max_matches > 10000) cloche_fail("maxMatches must be 1 to 10000");
  if (strlen(text) != length) cloche_fail("argument text must not contain NUL characters");

  regex_t regex;
  int flags = REG_EXTENDED | (ignore_case ? REG_ICASE : 0) | (newline ? REG_NEWLINE : 0);
  int status = regcomp(&regex, pattern, flags);
  if (status != 0) {
    char message[256];
    regerror(status, &regex, message, sizeof message);
    cloche_fail("invalid pattern: %s", message);
  }
  size_t groups = regex.re_nsub + 1;
  regmatch_t *match = (regmatch_t *)cloche__alloc(groups * sizeof *match);

  cloche_begin_object();
  cloche_key("matches");
  cloche_begin_array();
  long long count = 0;
  bool truncated = false;
  size_t at = 0;
  while (at <= length) {
    if (regexec(&regex, text + at, groups, match, at > 0 ? REG_NOTBOL : 0) != 0) break;
    if (count == max_matches) {
      truncated = true;
      break;
    }
    size_t start = at + (size_t)match[0].rm_so, end = at + (size_t)match[0].rm_eo;
    cloche_begin_object();
    cloche_key("start");
    cloche_int(chars_before(text, start));
    cloche_key("end");
    cloche_int(chars_before(text, end));
    cloche_key("match");
    cloche_string_n(text + start, end - start);
    cloche_key("groups");
    cloche_begin_array();
    for (size_t g = 1; g < groups; g++) {
      if (match[g].rm_so < 0) {
        cloche_null();
      } else {
        cloche_string_n(text + at + match[g].rm_so, (size_t)(match[g].rm_eo - match[g].rm_so));
      }
    }
    cloche_end_array();
    cloche_end_object();
    count++;
    /* An empty match moves on by one character, so the search always advances. */
    at = end > start ? end : (end < length ? utf8_step(text, end, length) : length + 1);
  }
  cloche_end_array();
  cloche_key("count");
  cloche_int(count);
  cloche_key("truncated");
  cloche_bool(truncated);
  cloche_end_object();
  regfree(&regex);
  return cloche_finish();
}
