/* primes: count primes with a segmented sieve of Eratosthenes, factor integers, and test
 * integers for primality with a deterministic Miller-Rabin test. */
#include "cloche_tool.h"

#define SEGMENT 32768 /* bytes per segment: one L1-sized window of odd numbers */
#define MAX_LIMIT 10000000000LL
#define MAX_FACTOR 9007199254740991LL /* 2^53 - 1, the largest integer JSON carries exactly */
#define MAX_CHECK 100                 /* integers per primes.check call */

typedef unsigned long long u64;

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

/* a * b mod m for a, b < m < 2^53, exactly, in 64-bit arithmetic: b is taken 10 bits at a time
 * (Horner), so r * 2^10 + a * chunk < 2^63 + 2^63 never overflows. Not unsigned __int128: its
 * remainder (__umodti3) in Debian's wasm32 compiler-rt needs __stack_chk_guard, which wasi-libc
 * lacks, so it does not link. */
static u64 mulmod(u64 a, u64 b, u64 m) {
  u64 r = 0;
  for (int shift = 50; shift >= 0; shift -= 10) r = ((r << 10) + a * ((b >> shift) & 1023)) % m;
  return r;
}

static u64 powmod(u64 base, u64 exponent, u64 m) {
  u64 result = 1;
  base %= m;
  for (; exponent; exponent >>= 1) {
    if (exponent & 1) result = mulmod(result, base, m);
    base = mulmod(base, base, m);
  }
  return result;
}

/* Miller-Rabin with the first twelve primes as bases: no composite below 3.18 * 10^23 (so none
 * below 2^64) is a strong pseudoprime to all of them, so the answer is exact, not probable. */
static bool is_prime(u64 n) {
  static const u64 bases[] = {2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37};
  const size_t count = sizeof bases / sizeof *bases;
  if (n < 2) return false;
  for (size_t i = 0; i < count; i++)
    if (n % bases[i] == 0) return n == bases[i];
  /* Here n > 37 is odd: n - 1 = d * 2^s with d odd. */
  u64 d = n - 1;
  int s = 0;
  while ((d & 1) == 0) {
    d >>= 1;
    s++;
  }
  for (size_t i = 0; i < count; i++) {
    u64 x = powmod(bases[i], d, n);
    if (x == 1 || x == n - 1) continue;
    bool witness = true; /* stays true unless squaring reaches n - 1 */
    for (int r = 1; r < s && witness; r++) {
      x = mulmod(x, x, n);
      if (x == n - 1) witness = false;
    }
    if (witness) return false;
  }
  return true;
}

/* Item `index` of numbers, checked again here: the module must not rely on the host's check. */
static u64 check_item(const cloche_json *item, size_t index) {
  if (item->type != CLOCHE_NUMBER || !(item->number >= 0 && item->number <= (double)MAX_FACTOR) ||
      item->number != (double)(long long)item->number)
    cloche_fail("numbers[%zu] must be an integer from 0 to %lld", index, MAX_FACTOR);
  return (u64)item->number;
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
  if (cloche_tool_is(&request, "check")) {
    cloche_json *numbers = cloche_get(request.arguments, "numbers");
    if (!numbers || numbers->type != CLOCHE_ARRAY || numbers->count < 1 ||
        numbers->count > MAX_CHECK)
      cloche_fail("numbers must be an array of 1 to %d integers", MAX_CHECK);
    long long primes = 0;
    cloche_begin_object();
    cloche_key("results");
    cloche_begin_array();
    size_t index = 0;
    for (cloche_json *item = numbers->first; item; item = item->next, index++) {
      u64 n = check_item(item, index);
      bool prime = is_prime(n);
      primes += prime;
      cloche_begin_object();
      cloche_key("n");
      cloche_int((long long)n);
      cloche_key("prime");
      cloche_bool(prime);
      cloche_end_object();
    }
    cloche_end_array();
    cloche_key("primes");
    cloche_int(primes);
    cloche_end_object();
    return cloche_finish();
  }
  cloche_fail("unknown tool %s", request.tool);
}
