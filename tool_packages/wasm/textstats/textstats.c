/* textstats: counts of characters, words, lines and sentences, and the most frequent words. */
#include "cloche_tool.h"

typedef struct {
  const char *word; /* points into the text; words are compared case-insensitively (ASCII) */
  size_t length;
  long long count;
  size_t first;     /* position of the first occurrence, to break ties in a stable way */
} entry;

static bool is_word_byte(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '\'' || c >= 0x80;
}

static unsigned char lower(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

static uint32_t hash_word(const char *w, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ lower((unsigned char)w[i])) * 16777619u;
  return h;
}

static bool same_word(const entry *e, const char *w, size_t n) {
  if (e->length != n) return false;
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)e->word[i]) != lower((unsigned char)w[i])) return false;
  return true;
}

static int by_count(const void *a, const void *b) {
  const entry *x = (const entry *)a, *y = (const entry *)b;
  if (x->count != y->count) return x->count > y->count ? -1 : 1;
  return x->first < y->first ? -1 : (x->first > y->first);
}

int main(void) {
  cloche_request request = cloche_read_request();
  if (!cloche_tool_is(&request, "analyze")) cloche_fail("unknown tool %s", request.tool);
  size_t length;
  const char *text = cloche_arg_string(&request, "text", &length, true);
  long long top = cloche_arg_int(&request, "top", 10);
  if (top < 0 || top > 1000) cloche_fail("top must be 0 to 1000");

  size_t slots = 1024;
  while (slots < length / 2 + 16) slots *= 2;
  entry *table = (entry *)cloche__alloc(slots * sizeof *table);
  long long words = 0, unique = 0, lines = 0, sentences = 0, word_bytes = 0, word_chars = 0;
  long long longest_line = 0, line_chars = 0;
  for (size_t i = 0; i < length;) {
    unsigned char c = (unsigned char)text[i];
    if (is_word_byte(c)) {
      size_t start = i;
      while (i < length && is_word_byte((unsigned char)text[i])) i++;
      size_t n = i - start;
      size_t chars = cloche_utf8_count(text + start, n);
      words++;
      word_bytes += (long long)n;
      word_chars += (long long)chars;
      line_chars += (long long)chars;
      uint32_t slot = hash_word(text + start, n) & (uint32_t)(slots - 1);
      while (table[slot].word && !same_word(&table[slot], text + start, n))
        slot = (slot + 1) & (uint32_t)(slots - 1);
      if (!table[slot].word) {
        table[slot].word = text + start;
        table[slot].length = n;
        table[slot].first = start;
        unique++;
      }
      table[slot].count++;
      continue;
    }
    if (c == '\n') {
      lines++;
      if (line_chars > longest_line) longest_line = line_chars;
      line_chars = 0;
    } else if ((c & 0xC0) != 0x80) {
      line_chars++;
    }
    if ((c == '.' || c == '!' || c == '?') &&
        (i + 1 == length || text[i + 1] == ' ' || text[i + 1] == '\n'))
      sentences++;
    i++;
  }
  if (length > 0 && text[length - 1] != '\n') lines++;
  if (line_chars > longest_line) longest_line = line_chars;
  (void)word_bytes;

  entry *ranked = (entry *)cloche__alloc((size_t)(unique ? unique : 1) * sizeof *ranked);
  size_t n = 0;
  for (size_t s = 0; s < slots; s++)
    if (table[s].word) ranked[n++] = table[s];
  qsort(ranked, n, sizeof *ranked, by_count);

  cloche_begin_object();
  cloche_key("characters");
  cloche_int((long long)cloche_utf8_count(text, length));
  cloche_key("bytes");
  cloche_int((long long)length);
  cloche_key("lines");
  cloche_int(lines);
  cloche_key("words");
  cloche_int(words);
  cloche_key("uniqueWords");
  cloche_int(unique);
  cloche_key("sentences");
  cloche_int(sentences);
  cloche_key("longestLine");
  cloche_int(longest_line);
  cloche_key("averageWordLength");
  cloche_number(words ? (double)word_chars / (double)words : 0.0);
  cloche_key("topWords");
  cloche_begin_array();
  for (size_t k = 0; k < n && k < (size_t)top; k++) {
    char *word = (char *)cloche__alloc(ranked[k].length + 1);
    for (size_t i = 0; i < ranked[k].length; i++) word[i] = (char)lower((unsigned char)ranked[k].word[i]);
    cloche_begin_object();
    cloche_key("word");
    cloche_string_n(word, ranked[k].length);
    cloche_key("count");
    cloche_int(ranked[k].count);
    cloche_end_object();
    free(word);
  }
  cloche_end_array();
  cloche_end_object();
  return cloche_finish();
}
