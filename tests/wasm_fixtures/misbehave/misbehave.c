/* misbehave: a test fixture whose tools break the rules, so the runners' limits can be tested. */
#include "cloche_tool.h"

int main(void) {
  cloche_request request = cloche_read_request();
  if (cloche_tool_is(&request, "echo")) {
    /* Well behaved: {"text": <text>}. */
    size_t length;
    const char *text = cloche_arg_string(&request, "text", &length, false);
    cloche_begin_object();
    cloche_key("text");
    if (text) cloche_string_n(text, length);
    else cloche_null();
    cloche_end_object();
    return cloche_finish();
  }
  if (cloche_tool_is(&request, "trap")) __builtin_trap();
  if (cloche_tool_is(&request, "loop")) {
    volatile unsigned long long spin = 0;
    for (;;) spin++;
  }
  if (cloche_tool_is(&request, "grow")) {
    /* Touch 1 MiB blocks until malloc fails, then abort (a trap), as most C programs would.
       The blocks are chained through a volatile pointer so the compiler cannot drop them. */
    static void *volatile chain;
    for (;;) {
      char *block = (char *)malloc(1 << 20);
      if (!block) abort();
      memset(block, 1, 1 << 20);
      *(void **)block = chain;
      chain = block;
    }
  }
  if (cloche_tool_is(&request, "bad_json")) {
    fputs("{\"unterminated\": ", stdout);
    return 0;
  }
  if (cloche_tool_is(&request, "not_object")) {
    fputs("[1, 2, 3]\n", stdout);
    return 0;
  }
  if (cloche_tool_is(&request, "flood")) {
    /* Writes without end: the output limit must stop it. */
    static char line[4096];
    memset(line, 'x', sizeof line);
    for (;;) fwrite(line, 1, sizeof line, stdout);
  }
  if (cloche_tool_is(&request, "exit_silently")) exit(3);
  if (cloche_tool_is(&request, "fail")) cloche_fail("failed on purpose");
  cloche_fail("unknown tool %s", request.tool);
}
