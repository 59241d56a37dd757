#include "tests/testing/run_command.h"

#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace datarun::test_support {
namespace {

std::string ReadAll(FILE* f) {
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) text.append(buf, n);
  return text;
}

}  // namespace

std::string ShellQuote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  quoted += "'";
  return quoted;
}

CommandResult RunCommand(const std::string& program,
                         const std::vector<std::string>& args) {
  static std::atomic<int> calls{0};
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string err_path =
      absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/run_command.", getpid(),
                   ".", calls.fetch_add(1), ".err");
  std::string cmd = ShellQuote(program);
  for (const auto& a : args) absl::StrAppend(&cmd, " ", ShellQuote(a));
  absl::StrAppend(&cmd, " 2>", ShellQuote(err_path));
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  r.out = ReadAll(p);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (FILE* e = fopen(err_path.c_str(), "r")) {
    r.err = ReadAll(e);
    fclose(e);
  }
  std::remove(err_path.c_str());
  return r;
}

}  // namespace datarun::test_support
