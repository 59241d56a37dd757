// JSON string literals for the CLI's hand-written JSON output (datarun
// replay, produce and audit verify print JSON lines without building a
// message). Used by tools/cli commands. Thread-safe (pure function).
#ifndef DATARUN_TOOLS_CLI_JSON_TEXT_H_
#define DATARUN_TOOLS_CLI_JSON_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace datarun::cli {

// `s` as a JSON string literal (UTF-8 passed through, controls escaped).
// Invalid UTF-8 is not representable: callers base64 such bytes.
std::string JsonQuote(absl::string_view s);

}  // namespace datarun::cli

#endif  // DATARUN_TOOLS_CLI_JSON_TEXT_H_
