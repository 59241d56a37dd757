#include "tests/testing/run_command.h"

#include "gtest/gtest.h"

namespace datarun::test_support {
namespace {

TEST(RunCommand, CapturesOutputErrorAndExitCode) {
  CommandResult r = RunCommand(
      "/bin/sh", {"-c", "printf 'out %s' \"$1\"; echo err >&2; exit 3", "sh",
                  "it's a \"quoted\" $HOME `arg`"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out it's a \"quoted\" $HOME `arg`");
  EXPECT_EQ(r.err, "err\n");
}

TEST(RunCommand, MissingProgramIsNotSuccess) {
  CommandResult r = RunCommand("/nonexistent/program", {});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(r.out.empty());
}

}  // namespace
}  // namespace datarun::test_support
