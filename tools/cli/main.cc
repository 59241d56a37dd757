// `datarun`: the command-line tool for departments, auditors and SRE.
// Dispatches to the subcommand whose words match the leading positional
// arguments (longest match wins), after absl flag parsing.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_split.h"
#include "tools/cli/command.h"

namespace {

void PrintUsage() {
  std::fprintf(stderr, "usage: datarun <command> [args] [--flags]\n\ncommands:\n");
  for (const auto& c : datarun::cli::Commands()) {
    std::fprintf(stderr, "  %-20s %s\n", c.name.c_str(), c.help.c_str());
  }
  std::fprintf(stderr, "\n`datarun --help` lists every flag.\n");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("datarun <command> [args] [--flags]");
  std::vector<char*> positional = absl::ParseCommandLine(argc, argv);
  std::vector<std::string> words(positional.begin() + 1, positional.end());

  const datarun::cli::Command* best = nullptr;
  size_t best_len = 0;
  for (const auto& c : datarun::cli::Commands()) {
    std::vector<std::string> name = absl::StrSplit(c.name, ' ');
    if (name.size() > words.size() || name.size() <= best_len) continue;
    if (std::equal(name.begin(), name.end(), words.begin())) {
      best = &c;
      best_len = name.size();
    }
  }
  if (best == nullptr) {
    if (!words.empty()) {
      std::fprintf(stderr, "datarun: unknown command '%s'\n\n",
                   words[0].c_str());
    }
    PrintUsage();
    return 2;
  }
  return best->run(
      std::vector<std::string>(words.begin() + best_len, words.end()));
}
