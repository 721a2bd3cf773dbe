#!/usr/bin/env python3
"""Count the hostile-input assertions of the Criterion suite by class (docs/fuzzing.md, Figures).

A hostile case is one call of a test's expectation helper (or a cr_assert_eq on a
SIGN_E* code) whose arguments name a refusal: an UPPER_CASE reason other than OK, a
finding id ("zip-path-traversal"), or a SIGN_E* code. One hostile input asserted
twice (code and reason) counts twice; pass cases do not count. Run from the
repository root: python3 tests/hostile-count.py
"""
import re

CLASSES = [
    ("zip (structure, names, bombs, secrets)", {"artifact_test.c": ["at_expect"], "walk_test.c": ["wk_has"]}),
    ("tar / layer", {"tar_test.c": ["tar_expect", "tar_finding"]}),
    ("OCI layout / docker archive", {"oci_test.c": ["oci_verify"], "oci_hostile_test.c": ["oh_refused", "oh_has_problem"]}),
    ("signature-level: bundle, DSSE, statement, policy, keys",
     {"verify_hostile_test.c": ["rt_has", "rt_v1", "rt_verify", "cr_assert_eq"], "x509_hostile_test.c!cert": ["r2_expect", "r2_has"],
      "verify_test.c": ["vt_expect_fail"], "bundle_test.c": ["cr_assert_eq"], "envelope_test.c": ["cr_assert_eq"],
      "policy_test.c": ["pt_refused"], "key_test.c": ["kt_expect_refusal", "kt_expect_unsupported", "kt_expect_weak"]}),
    ("X.509 (chains, EKU, CRLs, fetched CRLs)",
     {"x509_test.c": ["xt_verify", "cr_assert_eq", "cr_assert_str_eq"], "x509_cli_test.c": ["xc_expect", "xc_verify"],
      "crlfetch_test.c": ["cf_expect"]}),
    ("RFC 3161 timestamps",
     {"timestamp_test.c": ["tc_expect_verify", "ts_verify_fail", "ts_expect_fault", "cr_assert_eq"],
      "certts_test.c": ["ct_expect"], "x509_hostile_test.c!ts": ["r2_expect", "r2_has"]}),
]
REASON = re.compile(r'"([A-Z][A-Z0-9_]{3,})"|\b(SIGN_E[A-Z]+)\b|"([a-z]+-[a-z0-9-]+)"')


def calls(text, name):
    for m in re.finditer(r"\b" + name + r"\(", text):
        start = text.rfind("\n", 0, m.start()) + 1
        if re.match(r"\s*(static|void|int|char|const)\b", text[start:m.start()]):
            continue  # the definition
        i, depth = m.end(), 1
        while depth and i < len(text):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        yield text[m.end():i - 1]


def body(text, part):
    """x509_hostile: the timestamp test ('ts') or the certificate ones ('cert')."""
    tests = re.split(r"(?=^Test\()", text, flags=re.M)
    keep = [t for t in tests if t.startswith("Test(") and (("timestamp" in t.split("\n")[0]) == (part == "ts"))]
    return "".join(keep)


total = 0
for cls, files in CLASSES:
    n = 0
    for f, helpers in files.items():
        name, _, part = f.partition("!")
        text = open("tests/" + name).read()
        if part:
            text = body(text, part)
        for h in helpers:
            for args in calls(text, h):
                found = [x for t in REASON.findall(args) for x in t if x]
                if any(x != "OK" for x in found):
                    n += 1
    total += n
    print(f"{n:5d}  {cls}")
print(f"{total:5d}  in all")
