"""The first-party WASM tools under wasmtime, against known answers."""

import base64
import hashlib
import json
import random
import re
from pathlib import Path
from typing import Any

import pytest
from wasm_helpers import TOOL_PACKAGES, primes_up_to

from cloche_server.wasm import InvalidArguments, ToolFailed, UnknownTool, WasmPackage
from cloche_server.wasm.outcome import interpret


@pytest.fixture(scope="module")
def packages() -> dict[str, WasmPackage]:
    return {
        p.parent.name: WasmPackage.load(p) for p in sorted(TOOL_PACKAGES.glob("*/manifest.json"))
    }


def call(packages: dict[str, WasmPackage], tool: str, **arguments: Any) -> dict[str, Any]:
    package, _, name = tool.partition(".")
    return packages[package].call(name, arguments)


TEXTS = ["", "abc", "héllo wörld ✓", "x" * 1000, "line\nbreaks\r\n\ttabs\0nul"]


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
@pytest.mark.parametrize("text", TEXTS)
def test_digests_of_text_match_hashlib(packages: Any, algorithm: str, text: str) -> None:
    data = text.encode()
    result = call(packages, f"hash.{algorithm}", text=text)
    assert result == {
        "algorithm": algorithm,
        "hex": hashlib.new(algorithm, data).hexdigest(),
        "bytes": len(data),
    }


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5"])
@pytest.mark.parametrize("size", [0, 1, 55, 56, 63, 64, 65, 1000, 100_003])
def test_digests_of_bytes_match_hashlib(packages: Any, algorithm: str, size: int) -> None:
    data = bytes((i * 7 + size) % 256 for i in range(size))
    result = call(packages, f"hash.{algorithm}", base64=base64.b64encode(data).decode())
    assert result["hex"] == hashlib.new(algorithm, data).hexdigest()


def test_sha256_of_a_megabyte_of_random_bytes(packages: Any) -> None:
    data = random.Random(17).randbytes(2**20 + 7)  # many blocks, every byte value, a short tail
    result = call(packages, "hash.sha256", base64=base64.b64encode(data).decode())
    assert result == {
        "algorithm": "sha256",
        "hex": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
    }


def test_hash_needs_exactly_one_input(packages: Any) -> None:
    with pytest.raises(ToolFailed, match="exactly one"):
        call(packages, "hash.sha256", text="a", base64="YQ==")


# The same cases as the browser checker's test (wasm-runtime.test.js): both checkers agree.
GOOD_BASE64 = ["", "YQ==", "YWI=", "YWJj", "QR==", "/+8A", "aGVsbG8gd29ybGQ="]
BAD_BASE64 = ["YQ", "YQ=", "YQ===", "Y Q==", "YQ==\n", "-_8A", "YW=j", "YQ==YQ==", "a", "héllo==="]


@pytest.mark.parametrize("text", GOOD_BASE64)
def test_hash_takes_a_file_as_standard_base64(packages: Any, text: str) -> None:
    data = base64.b64decode(text, validate=True)
    assert call(packages, "hash.sha1", base64=text)["hex"] == hashlib.sha1(data).hexdigest()


@pytest.mark.parametrize("text", BAD_BASE64)
def test_hash_refuses_what_is_not_base64_before_running(packages: Any, text: str) -> None:
    with pytest.raises(ValueError):  # the SDK's strict decoding agrees
        base64.b64decode(text, validate=True)
    message = (
        "base64 is not valid base64: expected the bytes base64-encoded (A-Z, a-z, 0-9, + and /"
    )
    with pytest.raises(InvalidArguments, match=re.escape(message)):
        call(packages, "hash.sha256", base64=text)


@pytest.mark.parametrize(
    ("pattern", "text", "flags"),
    [
        ("a+b", "xaab ab b aaab", 0),
        ("([0-9]+)-([0-9]+)", "10-20, 3-4 and 5-", 0),
        ("(cat|dog)s?", "cats and dogs and a cat", 0),
        ("^[a-z]+", "abc\ndef", 0),
        ("^[a-z]+$", "abc\ndef", re.MULTILINE),
        ("HELLO", "hello Hello HELLO", re.IGNORECASE),
        ("é+", "café éé", 0),
        ("[[:digit:]]{2,3}", "1 12 123 1234", 0),
    ],
)
def test_regex_search_agrees_with_re(packages: Any, pattern: str, text: str, flags: int) -> None:
    py_pattern = pattern.replace("[[:digit:]]", "[0-9]")
    expected = [
        {"start": m.start(), "end": m.end(), "match": m.group(0), "groups": list(m.groups())}
        for m in re.finditer(py_pattern, text, flags)
    ]
    result = call(
        packages,
        "grep.search",
        pattern=pattern,
        text=text,
        ignoreCase=bool(flags & re.IGNORECASE),
        multiline=bool(flags & re.MULTILINE),
    )
    assert result == {"matches": expected, "count": len(expected), "truncated": False}


def test_regex_reports_a_bad_pattern_and_truncation(packages: Any) -> None:
    with pytest.raises(ToolFailed, match="invalid pattern"):
        call(packages, "grep.search", pattern="(unclosed", text="x")
    result = call(packages, "grep.search", pattern="a", text="aaaa", maxMatches=2)
    assert (result["count"], result["truncated"]) == (2, True)


def test_text_statistics(packages: Any) -> None:
    text = "The cat sat. The dog ran!\nIs the cat here?\n\nÜber alles.\n"
    result = call(packages, "textstats.analyze", text=text, top=2)
    words = re.findall(r"[A-Za-z0-9'\u0080-\U0010ffff]+", text)
    assert result["characters"] == len(text)
    assert result["bytes"] == len(text.encode())
    assert result["lines"] == len(text.splitlines())
    assert result["words"] == len(words)
    assert result["uniqueWords"] == len({w.lower() for w in words})
    assert result["sentences"] == 4
    assert result["longestLine"] == max(len(line) for line in text.splitlines())
    assert result["topWords"] == [{"word": "the", "count": 3}, {"word": "cat", "count": 2}]


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", b"hello world", bytes(range(256))])
def test_codec_round_trips_agree_with_python(packages: Any, data: bytes) -> None:
    b64 = base64.b64encode(data).decode()
    assert call(packages, "codec.base64_encode", base64=b64) == {"base64": b64}
    assert call(packages, "codec.hex_encode", base64=b64) == {"hex": data.hex()}
    text = data.decode() if data.isascii() and b"\0" not in data else None
    decoded = {"text": text, "base64": b64, "bytes": len(data)}
    assert call(packages, "codec.base64_decode", base64=b64) == decoded
    assert call(packages, "codec.hex_decode", hex=data.hex().upper()) == decoded


def test_codec_text_and_bad_input(packages: Any) -> None:
    assert call(packages, "codec.hex_encode", text="é") == {"hex": "c3a9"}
    assert call(packages, "codec.base64_decode", base64="aGk")["text"] == "hi"
    with pytest.raises(ToolFailed, match="odd number"):
        call(packages, "codec.hex_decode", hex="abc")
    with pytest.raises(ToolFailed, match="not valid base64"):
        call(packages, "codec.base64_decode", base64="a")


@pytest.mark.parametrize("limit", [0, 1, 2, 3, 10, 100, 65_535, 65_536, 65_537, 1_000_000])
def test_prime_counts_agree_with_a_python_sieve(packages: Any, limit: int) -> None:
    primes = primes_up_to(limit)
    result = call(packages, "primes.count", limit=limit)
    assert result == {
        "limit": limit,
        "count": len(primes),
        "largest": primes[-1] if primes else None,
    }


def test_prime_count_of_a_billion(packages: Any) -> None:
    assert call(packages, "primes.count", limit=10**9)["count"] == 50_847_534


def _is_prime(n: int) -> bool:
    """Miller-Rabin with the bases that decide every n below 3.18e23."""
    bases = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37]
    if n < 2 or any(n % p == 0 for p in bases):
        return n in bases
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in bases:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


@pytest.mark.parametrize("n", [2, 12, 97, 600_851_475_143, 2**53 - 1, 9_007_199_254_740_881])
def test_factors_multiply_back_and_are_prime(packages: Any, n: int) -> None:
    result = call(packages, "primes.factor", n=n)
    product = 1
    for factor in result["factors"]:
        product *= factor
        assert _is_prime(factor)
    assert product == n
    assert result["prime"] == (result["factors"] == [n])


PRIMES = [2, 3, 97, 2**31 - 1, 9_007_199_254_740_881]  # the last: the largest prime below 2^53
COMPOSITES = [
    0,
    1,
    4,
    561,  # Carmichael numbers: Fermat liars for every base coprime to them
    41_041,
    2_047,  # a strong pseudoprime to base 2
    3_215_031_751,  # ... to bases 2, 3, 5 and 7
    341_550_071_728_321,  # ... to every base up to 17
    2**53 - 1,
]


def test_check_decides_known_primes_and_composites(packages: Any) -> None:
    numbers = PRIMES + COMPOSITES
    result = call(packages, "primes.check", numbers=numbers)
    assert result == {
        "results": [{"n": n, "prime": n in PRIMES} for n in numbers],
        "primes": len(PRIMES),
    }


def test_check_agrees_with_python_on_small_and_large_numbers(packages: Any) -> None:
    rng = random.Random(53)
    batches = [list(range(start, start + 100)) for start in range(0, 1000, 100)]
    batches += [[rng.randrange(2**52, 2**53) | 1 for _ in range(100)] for _ in range(3)]
    for numbers in batches:
        results = call(packages, "primes.check", numbers=numbers)["results"]
        assert [r["prime"] for r in results] == [_is_prime(n) for n in numbers]


def test_check_of_a_hundred_of_the_largest_numbers_fits_the_output_limit(packages: Any) -> None:
    result = call(packages, "primes.check", numbers=[2**53 - 1] * 50 + [9_007_199_254_740_881] * 50)
    assert result["primes"] == 50


def _run_unchecked(packages: Any, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """Call a tool without the host's argument check: what the module itself refuses."""
    package, _, name = tool.partition(".")
    wasm = packages[package]
    limits = wasm.manifest.limits
    run = wasm._run(json.dumps({"tool": name, "arguments": arguments}).encode())
    return interpret(
        run,
        deadline_ms=limits.deadline_ms,
        output_bytes=limits.output_bytes,
        memory_limit=limits.memory_bytes,
        output_schema=wasm.find(name).output_schema,
    )


@pytest.mark.parametrize("item", [-1, 2**53, 1.5, "7", None, 1e300])
def test_check_refuses_an_item_that_is_no_integer_in_range_naming_it(
    packages: Any, item: Any
) -> None:
    with pytest.raises(InvalidArguments, match=re.escape("numbers[3] must be")):
        call(packages, "primes.check", numbers=[2, 3, 5, item])
    message = "numbers[3] must be an integer from 0 to 9007199254740991"
    with pytest.raises(ToolFailed, match=re.escape(message)):
        _run_unchecked(packages, "primes.check", {"numbers": [2, 3, 5, item]})


@pytest.mark.parametrize("numbers", [[], list(range(101)), 7, None])
def test_check_needs_1_to_100_integers(packages: Any, numbers: Any) -> None:
    with pytest.raises(InvalidArguments, match="numbers"):
        call(packages, "primes.check", numbers=numbers)
    with pytest.raises(ToolFailed, match="numbers must be an array of 1 to 100 integers"):
        _run_unchecked(packages, "primes.check", {"numbers": numbers})


def test_unknown_tools_and_invalid_arguments_are_refused(packages: Any) -> None:
    with pytest.raises(UnknownTool, match="nope"):
        call(packages, "hash.nope")
    with pytest.raises(InvalidArguments, match="limit is required"):
        call(packages, "primes.count")
    with pytest.raises(InvalidArguments, match="text must be string"):
        call(packages, "textstats.analyze", text=3)
    with pytest.raises(InvalidArguments, match="colour is not an accepted property"):
        call(packages, "textstats.analyze", text="", colour="red")


def test_every_tool_result_matches_its_output_schema(packages: Any) -> None:
    # interpret() checks results against outputSchema, so a passing call is a matching result;
    # this call covers the tools the tests above do not reach with every field.
    assert call(packages, "primes.count", limit=1)["largest"] is None
    assert Path(TOOL_PACKAGES / "primes" / "manifest.json").is_file()
