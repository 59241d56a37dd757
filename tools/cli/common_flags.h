// Flags shared by several `datarun` subcommands.
//
// absl flags are global to the binary and a name can be defined only once,
// so a flag that more than one command reads (--out, --catalog, --brokers,
// --certificate)
// is defined here and every command includes this header instead of
// defining its own. Command-specific flags stay in the command's .cc.
// Read with absl::GetFlag (thread-safe).
#ifndef DATARUN_TOOLS_CLI_COMMON_FLAGS_H_
#define DATARUN_TOOLS_CLI_COMMON_FLAGS_H_

#include <string>

#include "absl/flags/declare.h"

// Output directory or file of the command (keygen, gen, render, ...).
ABSL_DECLARE_FLAG(std::string, out);
// Catalog textproto (default: the shipped Zhejiang catalog).
ABSL_DECLARE_FLAG(std::string, catalog);
// Kafka bootstrap servers, host:port[,host:port...].
ABSL_DECLARE_FLAG(std::string, brokers);
// Certificate file, proto3 JSON or binary (verify, render).
ABSL_DECLARE_FLAG(std::string, certificate);

#endif  // DATARUN_TOOLS_CLI_COMMON_FLAGS_H_
