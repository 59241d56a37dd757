#include "exchange/audit/usage.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace datarun::audit {

using datarun::v1::AuditEvent;
using datarun::v1::UsageEntry;

UsageEntry ToUsageEntry(const AuditEvent& event) {
  UsageEntry e;
  *e.mutable_time() = event.time();
  e.set_requester_department(event.requester_department());
  e.set_officer_id(event.officer_id());
  e.set_matter(event.matter());
  e.set_kind(event.kind());
  for (const auto& c : event.disclosed()) e.add_data_classes(c.data_class());
  e.set_decision(event.decision());
  e.set_audit_event_id(event.event_id());
  if (event.has_on_behalf_of())
    *e.mutable_on_behalf_of() = event.on_behalf_of();
  return e;
}

absl::StatusOr<std::vector<UsageEntry>> UsageFor(
    const std::vector<datarun::v1::ChainLink>& links,
    absl::string_view subject_id) {
  std::vector<UsageEntry> out;
  AuditEvent event;
  for (const auto& link : links) {
    if (!event.ParseFromString(link.event_bytes())) {
      return absl::DataLossError(
          absl::StrCat("audit link ", link.sequence(), " of partition ",
                       link.partition(), " does not hold an AuditEvent"));
    }
    if (event.subject().id() == subject_id) out.push_back(ToUsageEntry(event));
  }
  std::reverse(out.begin(), out.end());  // ties: later link first
  std::stable_sort(
      out.begin(), out.end(), [](const UsageEntry& a, const UsageEntry& b) {
        return std::make_pair(a.time().seconds(), a.time().nanos()) >
               std::make_pair(b.time().seconds(), b.time().nanos());
      });
  return out;
}

}  // namespace datarun::audit
