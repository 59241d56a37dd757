// `datarun keygen --department=D --algorithm=sm2|ed25519 --out=DIR
//  [--key_id=K] [--valid_from=RFC3339] [--valid_days=N]`
//
// Generates a department's electronic seal key pair into the keys directory
// (exchange/seal/key_store.h layout: DIR/D/K.key.pem mode 0600, K.pub.pem),
// never overwriting an existing key, and prints on stdout the catalog entry
// to add under the department (`seal_keys { ... }`, catalog.proto SealKey).
// Exit 0 on success, 1 when the key cannot be written, 2 on usage errors.
// See docs/cli.md and docs/certificates.md.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/seal.h"
#include "tools/cli/command.h"
#include "tools/cli/common_flags.h"

ABSL_FLAG(std::string, algorithm, "sm2",
          "keygen: seal algorithm, sm2 (SM2 with SM3) or ed25519");
ABSL_FLAG(std::string, key_id, "",
          "keygen: key id, unique within the department (default "
          "<department>-<UTC date of valid_from>)");
ABSL_FLAG(std::string, valid_from, "",
          "keygen: start of the key's validity, RFC 3339 (default now)");
ABSL_FLAG(int, valid_days, 730,
          "keygen: length of the key's validity in days; 0 means no end");

namespace datarun::cli {
namespace {

using datarun::seal::KeyStore;
using datarun::seal::SealAlgorithm;

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n",
               static_cast<int>(message.size()), message.data());
  std::fprintf(stderr,
               "usage: datarun keygen --department=D --algorithm=sm2|ed25519 "
               "--out=DIR [--key_id=K] [--valid_from=RFC3339] "
               "[--valid_days=N]\n");
  return 2;
}

// A textproto string literal; PEM is ASCII, so escaping \n and " suffices,
// other control characters are escaped octally for safety.
std::string TextprotoString(absl::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      absl::StrAppend(&out, "\\", (c >> 6) & 7, (c >> 3) & 7, c & 7);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

int RunKeygen(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", args[0], "'"));
  }
  const std::string department = absl::GetFlag(FLAGS_department);
  if (department.empty()) return UsageError("--department is required");
  if (absl::Status s = seal::CheckKeyName("--department", department);
      !s.ok()) {
    return UsageError(s.message());
  }
  auto algorithm = seal::ParseAlgorithm(absl::GetFlag(FLAGS_algorithm));
  if (!algorithm.ok()) {
    return UsageError(
        absl::StrCat("--algorithm: ", algorithm.status().message()));
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return UsageError("--out (the keys directory) is required");

  // Whole seconds: the catalog stores a Timestamp and the docs show RFC 3339.
  absl::Time valid_from =
      absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()));
  if (const std::string from = absl::GetFlag(FLAGS_valid_from); !from.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, from, &valid_from, &err)) {
      return UsageError(absl::StrCat("--valid_from '", from,
                                     "' is not RFC 3339 (e.g. "
                                     "2026-11-26T00:00:00Z): ",
                                     err));
    }
  }
  const int valid_days = absl::GetFlag(FLAGS_valid_days);
  if (valid_days < 0) {
    return UsageError(absl::StrCat("--valid_days is ", valid_days,
                                   ", expected 0 (no end) or more"));
  }
  std::string key_id = absl::GetFlag(FLAGS_key_id);
  if (key_id.empty()) {
    key_id = absl::StrCat(
        department, "-",
        absl::FormatTime("%Y-%m-%d", valid_from, absl::UTCTimeZone()));
  }
  if (absl::Status s = seal::CheckKeyName("--key_id", key_id); !s.ok()) {
    return UsageError(s.message());
  }

  KeyStore store(out);
  auto pair = store.Generate(department, key_id, *algorithm);
  if (!pair.ok()) {
    std::string hint;
    if (pair.status().code() == absl::StatusCode::kAlreadyExists) {
      hint = " (choose another --key_id to rotate the key)";
    }
    std::fprintf(stderr, "error: %s%s\n",
                 std::string(pair.status().message()).c_str(), hint.c_str());
    return 1;
  }
  std::fprintf(stderr, "datarun keygen: wrote %s (private, mode 0600) and %s\n",
               store.PrivateKeyPath(department, key_id).c_str(),
               store.PublicKeyPath(department, key_id).c_str());

  std::string entry = absl::StrCat(
      "# Add to the catalog under departments { id: \"", department,
      "\" ... }:\n", "seal_keys {\n", "  key_id: ", TextprotoString(key_id),
      "\n", "  algorithm: ", seal::AlgorithmCatalogName(*algorithm), "\n",
      "  public_key_pem: ", TextprotoString(pair->public_pem), "\n",
      "  valid_from { seconds: ", absl::ToUnixSeconds(valid_from), " }  # ",
      Rfc3339(valid_from), "\n");
  if (valid_days > 0) {
    const absl::Time until = valid_from + absl::Hours(24) * valid_days;
    absl::StrAppend(&entry,
                    "  valid_until { seconds: ", absl::ToUnixSeconds(until),
                    " }  # ", Rfc3339(until), "\n");
  }
  absl::StrAppend(&entry, "}\n");
  std::fputs(entry.c_str(), stdout);
  return 0;
}

DATARUN_REGISTER_COMMAND(
    "keygen", "Generate a department's seal key pair (SM2 or Ed25519)",
    RunKeygen);

}  // namespace
}  // namespace datarun::cli
