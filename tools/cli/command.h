// Subcommand registry of the `datarun` CLI (//tools:datarun).
//
// Each subcommand lives in its own library under tools/cli/ and registers
// itself at static-initialisation time:
//
//   DATARUN_REGISTER_COMMAND("id check", "Validate a subject id", RunIdCheck);
//
// where RunIdCheck(const std::vector<std::string>& args) receives the
// arguments after the command words and returns the process exit code.
// Flags use absl/flags: the main parses them before dispatching, so a command
// defines its own ABSL_FLAG in its .cc and reads it with absl::GetFlag.
// Command libraries must set `alwayslink = True` so registration survives
// linking. Registration happens before main; lookup is read-only after that,
// so the registry needs no lock.
#ifndef DATARUN_TOOLS_CLI_COMMAND_H_
#define DATARUN_TOOLS_CLI_COMMAND_H_

#include <functional>
#include <string>
#include <vector>

namespace datarun::cli {

using CommandFn = std::function<int(const std::vector<std::string>& args)>;

struct Command {
  std::string name;  // one or more words, e.g. "id check"
  std::string help;  // one line
  CommandFn run;
};

// Adds a command; returns true so it can initialise a static.
bool RegisterCommand(Command command);

// All commands, sorted by name.
const std::vector<Command>& Commands();

}  // namespace datarun::cli

#define DATARUN_CLI_CONCAT_INNER_(a, b) a##b
#define DATARUN_CLI_CONCAT_(a, b) DATARUN_CLI_CONCAT_INNER_(a, b)
#define DATARUN_REGISTER_COMMAND(name, help, fn)                        \
  static const bool DATARUN_CLI_CONCAT_(datarun_cli_registered_,        \
                                        __COUNTER__) =                  \
      ::datarun::cli::RegisterCommand({name, help, fn})

#endif  // DATARUN_TOOLS_CLI_COMMAND_H_
