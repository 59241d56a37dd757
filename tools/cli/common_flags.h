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

#include <cstdint>
#include <string>

#include "absl/flags/declare.h"
#include "absl/time/time.h"

// Output directory or file of the command (keygen, gen, render, ...).
ABSL_DECLARE_FLAG(std::string, out);
// Catalog textproto (default: the shipped Zhejiang catalog).
ABSL_DECLARE_FLAG(std::string, catalog);
// Kafka bootstrap servers, host:port[,host:port...].
ABSL_DECLARE_FLAG(std::string, brokers);
// Certificate file, proto3 JSON or binary (verify, render).
ABSL_DECLARE_FLAG(std::string, certificate);
// Catalog id of the acting department (query: the requester; produce: the
// publisher).
ABSL_DECLARE_FLAG(std::string, as);
// Catalog department id (keygen: the key's owner; replay: a filter).
ABSL_DECLARE_FLAG(std::string, department);
// Matter id (query: the request's; replay: a filter).
ABSL_DECLARE_FLAG(std::string, matter);
// Subject id (query: whom it is about; replay: a filter).
ABSL_DECLARE_FLAG(std::string, subject);
// One partition of the topic read, -1 for all (audit verify, replay).
ABSL_DECLARE_FLAG(int32_t, partition);
// First offset read in every partition (audit verify, replay).
ABSL_DECLARE_FLAG(int64_t, from_offset);
// How long to wait for the bus (query: for the response).
ABSL_DECLARE_FLAG(absl::Duration, timeout);

#endif  // DATARUN_TOOLS_CLI_COMMON_FLAGS_H_
