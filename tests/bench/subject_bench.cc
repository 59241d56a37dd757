// Subject id benchmark: full validation rate of citizen ids and credit codes
// (ParseSubjectId with auto-detection, as ingest calls it for every record),
// against a reference measured in the same run: computing only the MOD 11-2
// check character of the same citizen ids (ComputeCitizenCheckChar), the
// least work any validator has to do.
//
//   bazel build //tests/bench:subject && bazel-bin/tests/bench/subject
//
// Single thread. Ids come from SubjectIdGenerator (fixed seed), 100k of each
// kind, cycled. `now` is read once, as a batch would.
//
// Last line: citizen_ids_per_s=... credit_codes_per_s=...
//   checksum_only_per_s=... citizen_vs_checksum=...
#include <cstdio>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "exchange/subject/subject_id.h"

ABSL_FLAG(double, seconds, 2.0, "measuring time per figure");
ABSL_FLAG(int, ids, 100000, "distinct ids of each kind");

namespace {

using datarun::subject::SubjectIdGenerator;

// Calls `fn(id)` over `ids` for about `seconds`; returns calls per second.
// `fn` returns a value folded into `*sink` so the work cannot be elided.
template <typename Fn>
double Rate(const std::vector<std::string>& ids, double seconds, Fn fn,
            long* sink) {
  long calls = 0;
  absl::Time start = absl::Now();
  absl::Time end = start + absl::Seconds(seconds);
  absl::Time t = start;
  while (t < end) {
    for (const std::string& id : ids) *sink += fn(id);
    calls += static_cast<long>(ids.size());
    t = absl::Now();
  }
  return calls / absl::ToDoubleSeconds(t - start);
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const double seconds = absl::GetFlag(FLAGS_seconds);
  const int n = absl::GetFlag(FLAGS_ids);

  SubjectIdGenerator gen(20261126);
  std::vector<std::string> citizens, credits;
  citizens.reserve(n);
  credits.reserve(n);
  for (int i = 0; i < n; ++i) citizens.push_back(gen.NextCitizenId());
  for (int i = 0; i < n; ++i) credits.push_back(gen.NextCreditCode());

  const absl::Time now = absl::Now();
  long sink = 0;
  long invalid = 0;
  auto parse = [&](const std::string& id) -> long {
    auto parsed = datarun::subject::ParseSubjectId(id, now);
    if (!parsed.ok()) {
      ++invalid;
      return 0;
    }
    return parsed->id()[17];
  };
  double citizen_rate = Rate(citizens, seconds, parse, &sink);
  std::printf("citizen ids, ParseSubjectId:          %12.0f /s\n",
              citizen_rate);
  double credit_rate = Rate(credits, seconds, parse, &sink);
  std::printf("credit codes, ParseSubjectId:         %12.0f /s\n", credit_rate);
  double checksum_rate = Rate(
      citizens, seconds,
      [](const std::string& id) -> long {
        auto c = datarun::subject::ComputeCitizenCheckChar(
            absl::string_view(id).substr(0, 17));
        return c.ok() ? *c : 0;
      },
      &sink);
  std::printf("reference: citizen checksum only:     %12.0f /s\n",
              checksum_rate);
  if (invalid != 0) {
    std::printf("ERROR: %ld generated ids were rejected\n", invalid);
    return 1;
  }
  std::printf("(sink %ld)\n", sink);
  std::printf(
      "citizen_ids_per_s=%.0f credit_codes_per_s=%.0f checksum_only_per_s=%.0f "
      "citizen_vs_checksum=%.2f\n",
      citizen_rate, credit_rate, checksum_rate, citizen_rate / checksum_rate);
  return 0;
}
