// Client properties given to a benchmark on its command line
// ("k=v<sep>k=v", e.g. --consumer_properties=fetch.wait.max.ms=1), parsed
// into the map that broker::ProducerOptions / ConsumerOptions take. Used by
// the broker, ingest and query_bus benchmarks.
//
// Thread-safety: a pure function.
#ifndef DATARUN_TESTS_BENCH_BENCH_PROPERTIES_H_
#define DATARUN_TESTS_BENCH_BENCH_PROPERTIES_H_

#include <map>
#include <string>
#include <utility>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace datarun::bench {

inline std::map<std::string, std::string> ParseProperties(
    absl::string_view list, char separator) {
  std::map<std::string, std::string> out;
  for (absl::string_view kv :
       absl::StrSplit(list, separator, absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, '=');
    out[p.first] = p.second;
  }
  return out;
}

}  // namespace datarun::bench

#endif  // DATARUN_TESTS_BENCH_BENCH_PROPERTIES_H_
