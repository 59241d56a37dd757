// `datarun gen --citizens=N --companies=M --seed=S --out=DIR [--format=jsonl]
//  [--threads=T] [--as_of=YYYY-MM-DD|today]`
//
// Generates a consistent synthetic population (connectors/gen) and writes
// every catalog data class as DIR/<dept>/<class>.jsonl plus DIR/manifest.json
// for the JSONL connector. The same seed gives byte-identical files.
// Exit 0 on success, 1 when generation or writing fails, 2 on usage errors.
// See docs/cli.md.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "connectors/gen/generator.h"
#include "connectors/gen/jsonl_writer.h"
#include "tools/cli/command.h"
#include "tools/cli/common_flags.h"

ABSL_FLAG(int64_t, citizens, 1000, "gen: number of citizens to generate");
ABSL_FLAG(int64_t, companies, 100,
          "gen: number of companies and social organisations to generate");
ABSL_FLAG(uint64_t, seed, 1, "gen: random seed; same seed, same output");
ABSL_FLAG(std::string, format, "jsonl", "gen: output format (only jsonl)");
ABSL_FLAG(int, gen_threads, 2, "gen: generator threads");
ABSL_FLAG(std::string, as_of, "",
          "gen: the day the data is generated as of (YYYY-MM-DD, or 'today' "
          "in UTC): ages, event times and the validity of delegations and "
          "consents are relative to it. Default: a 2025 day chosen by the "
          "seed");

namespace datarun::cli {
namespace {

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "datarun gen: %.*s\n", static_cast<int>(message.size()),
               message.data());
  std::fprintf(stderr,
               "usage: datarun gen --citizens=N --companies=M --seed=S "
               "--out=DIR [--format=jsonl] [--gen_threads=T] "
               "[--as_of=YYYY-MM-DD|today]\n");
  return 2;
}

int RunGen(const std::vector<std::string>& args) {
  if (!args.empty()) {
    return UsageError(absl::StrCat("unexpected argument '", args[0], "'"));
  }
  const std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) return UsageError("--out is required");
  if (absl::GetFlag(FLAGS_format) != "jsonl") {
    return UsageError(absl::StrCat("--format is '", absl::GetFlag(FLAGS_format),
                                   "'; only 'jsonl' is supported"));
  }
  if (absl::GetFlag(FLAGS_gen_threads) < 1) {
    return UsageError("--gen_threads must be at least 1");
  }
  gen::PopulationOptions options;
  options.citizens = absl::GetFlag(FLAGS_citizens);
  options.companies = absl::GetFlag(FLAGS_companies);
  options.seed = absl::GetFlag(FLAGS_seed);
  const std::string as_of = absl::GetFlag(FLAGS_as_of);
  if (!as_of.empty()) {
    const absl::CivilDay today =
        absl::ToCivilDay(absl::Now(), absl::UTCTimeZone());
    absl::CivilDay day;
    if (as_of == "today") {
      day = today;
    } else if (!absl::ParseCivilTime(as_of, &day)) {
      return UsageError(absl::StrCat("--as_of is '", as_of,
                                     "'; expected YYYY-MM-DD or 'today'"));
    }
    // Ids carry birth dates, which the exchange rejects when they lie in the
    // future; the people are born up to ~100 years before as_of.
    if (day > today || day < absl::CivilDay(2000, 1, 1)) {
      return UsageError(absl::StrCat("--as_of is ", absl::FormatCivilTime(day),
                                     "; it must lie between 2000-01-01 and "
                                     "today (",
                                     absl::FormatCivilTime(today), ")"));
    }
    options.as_of_day = day;
  }

  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<const gen::Generator>> generator =
      gen::Generator::Create(options);
  if (!generator.ok()) {
    if (absl::IsInvalidArgument(generator.status())) {
      return UsageError(generator.status().message());
    }
    std::fprintf(stderr, "datarun gen: %s\n",
                 generator.status().ToString().c_str());
    return 1;
  }
  const absl::Time built = absl::Now();
  gen::JsonlOptions jsonl;
  jsonl.out_dir = out;
  jsonl.threads = absl::GetFlag(FLAGS_gen_threads);
  absl::StatusOr<gen::JsonlSummary> summary =
      gen::WriteJsonl(**generator, jsonl);
  if (!summary.ok()) {
    std::fprintf(stderr, "datarun gen: %s\n",
                 summary.status().ToString().c_str());
    return 1;
  }
  const absl::Time done = absl::Now();
  std::printf(
      "wrote %lld records (%.1f MiB) about %lld citizens and %lld companies "
      "to %s in %.2f s (population %.2f s, records %.2f s)\n",
      static_cast<long long>(summary->total_records),
      static_cast<double>(summary->bytes) / (1 << 20),
      static_cast<long long>(options.citizens),
      static_cast<long long>(options.companies), out.c_str(),
      absl::ToDoubleSeconds(done - start), absl::ToDoubleSeconds(built - start),
      absl::ToDoubleSeconds(done - built));
  return 0;
}

}  // namespace

DATARUN_REGISTER_COMMAND("gen", "Generate consistent synthetic department data",
                         RunGen);

}  // namespace datarun::cli
