// Runs a program the way a user's shell would and captures what it printed,
// for end-to-end tests of the CLI and the daemon (tests/cli,
// tests/integration). Arguments are passed through /bin/sh single-quoted,
// so they reach the program unchanged whatever they contain.
//
// Thread-safety: RunCommand may be called from several threads; each call
// uses its own stderr file under TEST_TMPDIR.
#ifndef DATARUN_TESTS_TESTING_RUN_COMMAND_H_
#define DATARUN_TESTS_TESTING_RUN_COMMAND_H_

#include <string>
#include <vector>

namespace datarun::test_support {

struct CommandResult {
  int exit_code = -1;  // -1: the program could not run or was killed
  std::string out;     // stdout
  std::string err;     // stderr
};

// `program` is a path (relative to the test's working directory, i.e. the
// runfiles root, or absolute); `args` are passed as separate arguments.
CommandResult RunCommand(const std::string& program,
                         const std::vector<std::string>& args);

// `s` as one single-quoted /bin/sh word.
std::string ShellQuote(const std::string& s);

}  // namespace datarun::test_support

#endif  // DATARUN_TESTS_TESTING_RUN_COMMAND_H_
