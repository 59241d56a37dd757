// "Who used my data": a citizen's usage log (cf. Estonia's Data Tracker)
// read from audit chain links, officials' lookups and denied attempts
// included.
//
// Callers: the usage query (QUERY_KIND_USAGE) and the auditor CLI, over the
// links of dr.audit. Pure functions; safe from any thread.
#ifndef DATARUN_EXCHANGE_AUDIT_USAGE_H_
#define DATARUN_EXCHANGE_AUDIT_USAGE_H_

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/datarun/v1/audit.pb.h"
#include "proto/datarun/v1/query.pb.h"

namespace datarun::audit {

// One UsageEntry per event about `subject_id`, newest first. DataLoss when
// a link's event does not parse (names the link).
absl::StatusOr<std::vector<datarun::v1::UsageEntry>> UsageFor(
    const std::vector<datarun::v1::ChainLink>& links,
    absl::string_view subject_id);

datarun::v1::UsageEntry ToUsageEntry(const datarun::v1::AuditEvent& event);

}  // namespace datarun::audit

#endif  // DATARUN_EXCHANGE_AUDIT_USAGE_H_
