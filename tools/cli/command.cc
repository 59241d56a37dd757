#include "tools/cli/command.h"

#include <algorithm>
#include <utility>

namespace datarun::cli {
namespace {
std::vector<Command>& MutableCommands() {
  static auto* commands = new std::vector<Command>();
  return *commands;
}
}  // namespace

bool RegisterCommand(Command command) {
  auto& commands = MutableCommands();
  commands.push_back(std::move(command));
  std::sort(commands.begin(), commands.end(),
            [](const Command& a, const Command& b) { return a.name < b.name; });
  return true;
}

const std::vector<Command>& Commands() { return MutableCommands(); }

}  // namespace datarun::cli
