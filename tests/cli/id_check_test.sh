#!/usr/bin/env bash
# `datarun id check`: JSON on stdout and exit 0 for a valid id, `error: ...`
# on stderr and exit 1 for an invalid one, exit 2 for usage errors.
set -uo pipefail

source "${TEST_SRCDIR}/datarun/tests/cli/cli_test_lib.sh"

# Citizen id, the example of GB 11643-1999, lower-case x normalised.
run 0 id check 11010519491231002x
expect_file "$out" '{"kind":"citizen","id":"11010519491231002X","region":{"code":"110105","province":"北京市"},"birth_date":"1949-12-31","sex":"female","sequence":2}'
expect_file "$err" ''

# Zhejiang county names are decoded.
run 0 id check 330106199003071236
expect_file "$out" '{"kind":"citizen","id":"330106199003071236","region":{"code":"330106","province":"浙江省","prefecture":"杭州市","county":"西湖区"},"birth_date":"1990-03-07","sex":"male","sequence":123}'

# Credit code.
run 0 id check 91350100M000100Y43
expect_file "$out" '{"kind":"legal_person","id":"91350100M000100Y43","registration_department":{"code":"9","name":"industry and commerce","name_zh":"工商"},"organisation_type":{"code":"1","name":"enterprise","name_zh":"企业"},"region":{"code":"350100","province":"福建省"},"organisation_code":"M000100Y4"}'

# Invalid ids: message on stderr, nothing on stdout.
run 1 id check 110105194912310021
expect_file "$out" ''
expect_file "$err" "error: check character at position 18 is '1', expected 'X'"

run 1 id check 9135O100M000100Y43
expect_file "$err" "error: character at position 5 is 'O', which is not in the credit-code alphabet (0-9 and A-Y except I, O, S, V, Z)"

run 1 id check " 11010519491231002X"
expect_file "$err" "error: id has leading whitespace (position 1); remove it"

run 1 id check ""
expect_file "$err" "error: id is empty"

# Usage errors.
run 2 id check
grep -q '^usage: datarun id check <ID>' "$err" || {
  echo "FAIL: no usage line for a missing argument: $(cat "$err")"
  failures=$((failures + 1))
}
run 2 id check 11010519491231002X 330106199003071236

finish "id check"
