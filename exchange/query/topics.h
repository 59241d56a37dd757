// Topic names of the request/response path (DESIGN §4) in one place, for
// the query server, QueryClient, the CLI, tests and benchmarks.
//
// Pure functions and constants; safe from any thread.
#ifndef DATARUN_EXCHANGE_QUERY_TOPICS_H_
#define DATARUN_EXCHANGE_QUERY_TOPICS_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace datarun::query {

// Keyed by subject id, so partition p is co-partitioned with the data
// topics; same partition count as they have.
inline constexpr char kRequestTopic[] = "dr.query.req";
// One topic per requesting department, keyed by request id.
inline constexpr char kResponseTopicPrefix[] = "dr.query.resp.";
// Audit chain links; partition p holds the chain of state partition p, so
// it needs (at least) the data topics' partition count.
inline constexpr char kAuditTopic[] = "dr.audit";

// Whether an instance answers requests of a partition of dr.query.req.
enum class Serving {
  kServe,       // answer now
  kNotOwned,    // another instance's partition: skip
  kCatchingUp,  // ours, but ingest has not caught up yet: wait
};

inline std::string ResponseTopic(absl::string_view department) {
  return absl::StrCat(kResponseTopicPrefix, department);
}

}  // namespace datarun::query

#endif  // DATARUN_EXCHANGE_QUERY_TOPICS_H_
