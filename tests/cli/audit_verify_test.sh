#!/usr/bin/env bash
# `datarun audit verify`: usage errors exit 2 with a message naming the
# problem, before any connection is made. The verification itself (intact,
# altered, removed) is tested against a real daemon by
# //tests/integration:audit_trail_test.
source "${TEST_SRCDIR}/datarun/tests/cli/cli_test_lib.sh"

run 2 audit verify
expect_grep "$err" "--brokers is required"

run 2 audit verify --brokers=127.0.0.1:1 extra
expect_grep "$err" "unexpected argument 'extra'"

run 2 audit verify --brokers=127.0.0.1:1 --from_offset=-1
expect_grep "$err" "--from_offset must be >= 0"

run 2 audit verify --brokers=127.0.0.1:1 --partition=-7
expect_grep "$err" "--partition must be >= 0"

run 2 audit verify --brokers=127.0.0.1:1 --catalog="${TEST_TMPDIR}/missing.textproto"
expect_grep "$err" "missing.textproto"

finish audit_verify
