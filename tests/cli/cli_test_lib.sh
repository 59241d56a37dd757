# Helpers for end-to-end tests of the built `datarun` binary; source it.
#   run <expected exit code> <args...>   runs datarun, output in $out / $err
#   expect_file <file> <exact content>
#   expect_grep <file> <extended regex>
#   finish <name>                        exits 1 if any check failed
bin="${TEST_SRCDIR}/datarun/tools/datarun"
[[ -x "$bin" ]] || { echo "datarun binary not found at $bin"; exit 1; }
out="${TEST_TMPDIR}/out"
err="${TEST_TMPDIR}/err"
failures=0

run() {
  local want=$1
  shift
  "$bin" "$@" >"$out" 2>"$err"
  local rc=$?
  if [[ $rc -ne $want ]]; then
    echo "FAIL: datarun $* exited $rc, expected $want"
    echo "  stdout: $(cat "$out")"
    echo "  stderr: $(cat "$err")"
    failures=$((failures + 1))
  fi
}

expect_file() {
  local got
  got=$(cat "$1")
  if [[ "$got" != "$2" ]]; then
    echo "FAIL: $1"
    echo "  got:      $got"
    echo "  expected: $2"
    failures=$((failures + 1))
  fi
}

expect_grep() {
  if ! grep -qE -- "$2" "$1"; then
    echo "FAIL: $1 does not match /$2/:"
    sed 's/^/  /' "$1"
    failures=$((failures + 1))
  fi
}

finish() {
  if [[ $failures -ne 0 ]]; then
    echo "$failures failure(s)"
    exit 1
  fi
  echo "all $1 cases passed"
}
