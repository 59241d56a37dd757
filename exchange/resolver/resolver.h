// Resolver: answers one QueryRequest from local state, after the policy,
// and records it in the audit chain before returning.
//
//   CheckRequest -> per subject: one prefix scan of the subject's records
//   (data classes + consent_grant + delegation) -> CheckSubject ->
//   PROFILE: the stored bytes, payload masked on the wire to the
//   agreement's fields, provenance per record (profile_answer.h);
//   VERIFY: evaluate the predicate, evidence provenance, no payload;
//   CERTIFICATE / DOSSIER: a sealed document (document_answer.h) ->
//   one AuditEvent per subject (PROFILE writes its bytes directly,
//   WriteProfileEvent), appended to the chain of the subject's partition
//   and acknowledged by the audit sink -> response.
// A denied request gets a response with the rule and message and no data,
// and is audited as well. A multi-subject request is all or nothing: if one
// subject is denied, none is answered. When the audit sink does not
// acknowledge, Handle returns Unavailable and no response may be sent.
//
// Callers: the datarund request consumer (dr.query.req), benchmarks, tests.
// Thread-safety: Handle may run concurrently from any number of threads.
// Each calling thread keeps one set of per-subject buffers (audit event or
// its bytes, profile bytes) that its next Handle clears and reuses, so a
// long-lived worker pool allocates them once.
//
// Performance: every Handle takes several absl::Mutex locks (audit chain,
// state iterator pool). Debian's Abseil is built without NDEBUG, so each
// acquisition also updates Abseil's global deadlock graph unless the binary
// calls absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore)
// at start: the daemon (datarund) and benchmarks must (tests need not).
#ifndef DATARUN_EXCHANGE_RESOLVER_RESOLVER_H_
#define DATARUN_EXCHANGE_RESOLVER_RESOLVER_H_

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "exchange/audit/audit_log.h"
#include "exchange/catalog/catalog.h"
#include "exchange/policy/policy.h"
#include "exchange/resolver/document_answer.h"
#include "exchange/state/state_store.h"
#include "proto/datarun/v1/query.pb.h"

namespace datarun::resolver {

// The state partition of a subject id: must be the partitioner producers use
// for the data topics (murmur2 over the key, as Kafka's default), so the
// subject's records are in that partition of the store.
using PartitionFn = std::function<int32_t(absl::string_view subject_id)>;

struct ResolverOptions {
  // The exchange's clock; tests pin it.
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Seals for CERTIFICATE and DOSSIER answers (document_answer.h); without
  // signers those are refused with document.no_seal.
  DocumentSeals seals;
};

class Resolver {
 public:
  // None is owned; all must outlive the resolver.
  Resolver(const policy::Policy& policy, state::StateStore& store,
           audit::AuditLog& audit, PartitionFn partition,
           ResolverOptions options = {});

  absl::StatusOr<datarun::v1::QueryResponse> Handle(
      const datarun::v1::QueryRequest& request) const;

 private:
  const policy::Policy& policy_;
  const catalog::CatalogIndex& catalog_;
  state::StateStore& store_;
  audit::AuditLog& audit_;
  const PartitionFn partition_;
  const ResolverOptions options_;
};

}  // namespace datarun::resolver

#endif  // DATARUN_EXCHANGE_RESOLVER_RESOLVER_H_
