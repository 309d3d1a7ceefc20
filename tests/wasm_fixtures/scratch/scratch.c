/* scratch: a test fixture that uses the scratch directory its manifest asks for ("scratchDir"),
   so the runners' promise can be tested: writable, empty at the start of every call, and nothing
   outside it. */
#include <dirent.h>
#include <errno.h>

#include "cloche_tool.h"

/* The whole file at `path` (NUL-terminated), or NULL with errno set. */
static char *read_file(const char *path, size_t *length) {
  FILE *file = fopen(path, "rb");
  if (!file) return NULL;
  size_t capacity = 256;
  char *text = (char *)malloc(capacity);
  *length = 0;
  size_t got;
  while (text && (got = fread(text + *length, 1, capacity - *length - 1, file)) > 0) {
    *length += got;
    if (*length + 1 == capacity) text = (char *)realloc(text, capacity *= 2);
  }
  fclose(file);
  if (!text) cloche_fail("out of memory reading %s", path);
  text[*length] = '\0';
  return text;
}

int main(void) {
  cloche_request request = cloche_read_request();
  if (cloche_tool_is(&request, "write")) {
    /* Write text to path, then read it back: {path, text} as read. */
    size_t length;
    const char *path = cloche_arg_string(&request, "path", NULL, true);
    const char *text = cloche_arg_string(&request, "text", &length, true);
    FILE *file = fopen(path, "wb");
    if (!file) cloche_fail("cannot write %s: %s", path, strerror(errno));
    if (fwrite(text, 1, length, file) != length || fclose(file) != 0) {
      cloche_fail("writing %s failed: %s", path, strerror(errno));
    }
    size_t read_length;
    char *back = read_file(path, &read_length);
    if (!back) cloche_fail("cannot read %s back: %s", path, strerror(errno));
    cloche_begin_object();
    cloche_key("path");
    cloche_string(path);
    cloche_key("text");
    cloche_string_n(back, read_length);
    cloche_end_object();
    return cloche_finish();
  }
  if (cloche_tool_is(&request, "read")) {
    /* {found: true, text} or {found: false, reason}. */
    const char *path = cloche_arg_string(&request, "path", NULL, true);
    size_t length;
    char *text = read_file(path, &length);
    cloche_begin_object();
    cloche_key("found");
    cloche_bool(text != NULL);
    if (text) {
      cloche_key("text");
      cloche_string_n(text, length);
    } else {
      cloche_key("reason");
      cloche_string(strerror(errno));
    }
    cloche_end_object();
    return cloche_finish();
  }
  if (cloche_tool_is(&request, "list")) {
    /* The names in a directory, without . and .. */
    const char *path = cloche_arg_string(&request, "path", NULL, true);
    DIR *dir = opendir(path);
    if (!dir) cloche_fail("cannot list %s: %s", path, strerror(errno));
    cloche_begin_object();
    cloche_key("names");
    cloche_begin_array();
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
      if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
        cloche_string(entry->d_name);
      }
    }
    closedir(dir);
    cloche_end_array();
    cloche_end_object();
    return cloche_finish();
  }
  cloche_fail("unknown tool %s", request.tool);
}
