#!/usr/bin/env bash
# `datarun catalog check FILE`: the shipped catalog is valid and summarised;
# a broken catalog exits 1 naming file, line and entity; usage errors exit 2.
set -uo pipefail
source "${TEST_SRCDIR}/datarun/tests/cli/cli_test_lib.sh"

shipped="${TEST_SRCDIR}/datarun/exchange/catalog/zhejiang.textproto"
run 0 catalog check "$shipped"
expect_grep "$out" '^catalog .*zhejiang.textproto: valid \(version [0-9.]+\)$'
# The article's scale: at least 13 departments and 38 data classes.
deps=$(sed -n 's/^departments: //p' "$out")
classes=$(sed -n 's/^data classes: //p' "$out")
[[ ${deps:-0} -ge 13 ]] || { echo "FAIL: departments=$deps"; failures=$((failures + 1)); }
[[ ${classes:-0} -ge 38 ]] || { echo "FAIL: classes=$classes"; failures=$((failures + 1)); }
expect_grep "$out" '^paper materials replaced: [1-9][0-9]*$'

bad="${TEST_TMPDIR}/bad.textproto"
cat >"$bad" <<'TEXT'
version: "t"
departments { id: "public_security" name: "公安局" }
departments { id: "public_security" name: "公安局" }
TEXT
run 1 catalog check "$bad"
expect_grep "$err" "^error: .*bad.textproto:3: department \"public_security\": duplicate department id"

printf 'version: "t"\ndepartments { id: "x" name: }\n' >"$bad"
run 1 catalog check "$bad"
expect_grep "$err" '^error: .*bad.textproto:2:[0-9]+: '

run 1 catalog check "${TEST_TMPDIR}/missing.textproto"
expect_grep "$err" 'missing.textproto: cannot open catalog file'

run 2 catalog check
run 2 catalog check a b

finish "catalog check"
