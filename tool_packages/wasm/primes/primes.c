/* primes: count primes with a segmented sieve of Eratosthenes, and factor integers. */
#include "cloche_tool.h"

#define SEGMENT 32768 /* bytes per segment: one L1-sized window of odd numbers */
#define MAX_LIMIT 10000000000LL
#define MAX_FACTOR 9007199254740991LL /* 2^53 - 1, the largest integer JSON carries exactly */

static long long count_primes(long long limit, long long *largest) {
  if (limit < 2) { *largest = 0; return 0; }
  long long root = 1;
  while ((root + 1) * (root + 1) <= limit) root++;
  /* Base primes up to sqrt(limit), by a plain sieve. */
  unsigned char *small = (unsigned char *)cloche__alloc((size_t)root + 1);
  long long *base = (long long *)cloche__alloc(((size_t)root / 2 + 2) * sizeof *base);
  size_t bases = 0;
  for (long long i = 2; i <= root; i++) {
    if (small[i]) continue;
    if (i > 2) base[bases++] = i;
    for (long long j = i * i; j <= root; j += i) small[j] = 1;
  }
  long long count = 1; /* the prime 2 */
  *largest = 2;
  unsigned char *sieve = (unsigned char *)cloche__alloc(SEGMENT);
  long long *next = (long long *)cloche__alloc((bases + 1) * sizeof *next);
  for (size_t k = 0; k < bases; k++) next[k] = base[k] * base[k];
  /* Segment byte i stands for the odd number low + 2i. */
  for (long long low = 3; low <= limit; low += 2LL * SEGMENT) {
    long long high = low + 2LL * SEGMENT - 2;
    if (high > limit) high = limit - ((limit - low) % 2);
    size_t size = (size_t)((high - low) / 2 + 1);
    memset(sieve, 0, size);
    for (size_t k = 0; k < bases; k++) {
      long long p = base[k], j = next[k];
      for (; j <= high; j += 2 * p) sieve[(j - low) / 2] = 1;
      next[k] = j;
    }
    for (size_t i = 0; i < size; i++) {
      if (!sieve[i]) {
        count++;
        *largest = low + 2 * (long long)i;
      }
    }
  }
  return count;
}

int main(void) {
  cloche_request request = cloche_read_request();
  if (cloche_tool_is(&request, "count")) {
    long long limit = cloche_arg_int(&request, "limit", -1);
    if (limit < 0 || limit > MAX_LIMIT) cloche_fail("limit must be 0 to %lld", MAX_LIMIT);
    long long largest;
    long long count = count_primes(limit, &largest);
    cloche_begin_object();
    cloche_key("limit");
    cloche_int(limit);
    cloche_key("count");
    cloche_int(count);
    cloche_key("largest");
    if (count) cloche_int(largest);
    else cloche_null();
    cloche_end_object();
    return cloche_finish();
  }
  if (cloche_tool_is(&request, "factor")) {
    long long n = cloche_arg_int(&request, "n", -1);
    if (n < 2 || n > MAX_FACTOR) cloche_fail("n must be 2 to %lld", MAX_FACTOR);
    cloche_begin_object();
    cloche_key("n");
    cloche_int(n);
    cloche_key("factors");
    cloche_begin_array();
    long long rest = n;
    for (long long p = 2; p * p <= rest; p += (p == 2 ? 1 : 2)) {
      while (rest % p == 0) {
        cloche_int(p);
        rest /= p;
      }
    }
    if (rest > 1) cloche_int(rest);
    cloche_end_array();
    cloche_key("prime");
    cloche_bool(rest == n);
    cloche_end_object();
    return cloche_finish();
  }
  cloche_fail("unknown tool %s", request.tool);
}
