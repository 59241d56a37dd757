#include "exchange/resolver/resolver.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/policy/rules.h"
#include "exchange/resolver/document_answer.h"
#include "exchange/resolver/predicate.h"
#include "exchange/resolver/profile_answer.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/time_util.h"

namespace datarun::resolver {

using datarun::v1::AuditEvent;
using datarun::v1::QueryRequest;
using datarun::v1::QueryResponse;
using datarun::v1::Record;
using google::protobuf::util::TimeUtil;

namespace {

bool IsGating(const std::string& cls) {
  return cls == policy::kConsentClass || cls == policy::kDelegationClass;
}

// Everything known about one subject while the request is handled.
struct SubjectWork {
  int32_t partition = 0;
  std::vector<Record> data;    // records of the classes asked for
  std::vector<Record> gating;  // consent_grant, delegation
  ProfileRecords profile;      // PROFILE: the data records, unparsed
  policy::Decision decision;
  AuditEvent event;  // the audit event, except for PROFILE
  // PROFILE: the classes disclosed and the audit event's bytes, written
  // without an AuditEvent message (WriteProfileEvent).
  std::vector<DisclosedView> disclosed;
  std::string event_bytes;

  // Empties it for the next request but keeps the buffers: a cleared
  // protobuf message keeps its strings and repeated elements for reuse.
  void Reset() {
    partition = 0;
    data.clear();
    gating.clear();
    profile.data.clear();
    profile.bytes.clear();
    // A subject with an unusually large profile does not pin its buffer.
    if (profile.bytes.capacity() > (size_t{64} << 10)) {
      std::string().swap(profile.bytes);
    }
    decision = policy::Decision();
    event.Clear();
    disclosed.clear();
  }
};

// The SubjectWork of the requests this thread handles, reused: building the
// audit event and reading a profile then allocate almost nothing (measured
// in tests/bench:query, docs/benchmarks.md). Handle never re-enters itself,
// so one set per thread is enough.
std::vector<SubjectWork*>& ThreadWork(int n) {
  thread_local std::vector<std::unique_ptr<SubjectWork>> owned;
  thread_local std::vector<SubjectWork*> view;
  while (static_cast<int>(owned.size()) < n) {
    owned.push_back(std::make_unique<SubjectWork>());
  }
  view.clear();
  for (int i = 0; i < n; ++i) {
    owned[i]->Reset();
    view.push_back(owned[i].get());
  }
  return view;
}

}  // namespace

Resolver::Resolver(const policy::Policy& policy, state::StateStore& store,
                   audit::AuditLog& audit, PartitionFn partition,
                   ResolverOptions options)
    : policy_(policy),
      catalog_(policy.catalog()),
      store_(store),
      audit_(audit),
      partition_(std::move(partition)),
      options_(std::move(options)) {}

absl::StatusOr<QueryResponse> Resolver::Handle(
    const QueryRequest& request) const {
  const absl::Time now = options_.clock();
  QueryResponse response;
  response.set_request_id(request.request_id());
  response.set_catalog_version(catalog_.version());
  *response.mutable_answered_at() =
      TimeUtil::NanosecondsToTimestamp(absl::ToUnixNanos(now));

  const policy::RequestGrant grant = policy_.CheckRequest(request, now);

  // One unit of work (and one audit event) per subject; a request naming no
  // subject is still audited, under partition 0.
  const int n = std::max(1, request.subjects_size());
  std::vector<SubjectWork*>& work = ThreadWork(n);
  // PROFILE answers (the hot path) write their audit event's bytes at the
  // end (WriteProfileEvent); the other kinds build the message.
  const bool profile = request.kind() == datarun::v1::QUERY_KIND_PROFILE;
  for (int i = 0; i < n; ++i) {
    SubjectWork& w = *work[i];
    if (i < request.subjects_size()) {
      w.partition = partition_(request.subjects(i).id());
    }
    w.decision = grant.decision;
    if (profile) continue;
    AuditEvent& e = w.event;
    *e.mutable_time() = response.answered_at();
    e.set_request_id(request.request_id());
    e.set_requester_department(request.requester_department());
    e.set_officer_id(request.officer_id());
    if (request.has_on_behalf_of())
      *e.mutable_on_behalf_of() = request.on_behalf_of();
    e.set_matter(request.matter());
    e.set_kind(request.kind());
    e.set_catalog_version(catalog_.version());
    if (!request.predicate_id().empty()) e.set_detail(request.predicate_id());
    if (i < request.subjects_size()) {
      *e.mutable_subject() = request.subjects(i);
    }
  }

  bool allowed = grant.decision.allowed;
  if (allowed) {
    for (int i = 0; i < n; ++i) {
      SubjectWork& w = *work[i];
      const auto& subject = request.subjects(i);
      // One seek over the subject's whole prefix, filtered here: the store
      // seeks once per class when given a class set, and a seek costs more
      // than parsing the handful of records a subject holds (tests/bench).
      if (profile) {
        // The hot path: data records stay serialized (profile_answer.h).
        RETURN_IF_ERROR(ReadProfile(store_, w.partition, subject.id(),
                                    *grant.read_classes, &w.profile,
                                    &w.gating));
      } else {
        ASSIGN_OR_RETURN(std::vector<Record> records,
                         store_.Profile(w.partition, subject.id()));
        w.data.reserve(records.size());
        for (Record& r : records) {
          if (!grant.read_classes->contains(r.data_class())) continue;
          (IsGating(r.data_class()) ? w.gating : w.data)
              .push_back(std::move(r));
        }
      }
      w.decision = policy_.CheckSubject(grant, request, subject, w.gating, now);
      allowed &= w.decision.allowed;
    }
    if (!allowed) {
      // All or nothing: name the subject that failed on every event.
      const SubjectWork* failed = nullptr;
      for (const SubjectWork* w : work) {
        if (!w->decision.allowed) {
          failed = w;
          break;
        }
      }
      for (SubjectWork* w : work) {
        if (w->decision.allowed) {
          w->decision = policy::Decision::Deny(
              policy::kRuleBatchDenied,
              absl::StrCat("another subject of the request was denied: ",
                           failed->decision.message));
        }
      }
      response.set_denial_rule(failed->decision.rule);
      response.set_denial_reason(failed->decision.message);
    }
  } else {
    response.set_denial_rule(grant.decision.rule);
    response.set_denial_reason(grant.decision.message);
  }

  if (allowed) {
    response.set_decision(datarun::v1::DECISION_ALLOW);
    const policy::AgreementPlan& plan = *grant.plan;
    if (profile) {
      size_t total = 0;
      for (const SubjectWork* w : work) total += w->profile.data.size();
      response.mutable_records()->Reserve(static_cast<int>(total));
      for (int i = 0; i < n; ++i) {
        RETURN_IF_ERROR(AnswerProfile(plan, request.subjects(i),
                                      work[i]->profile, &response,
                                      &work[i]->disclosed));
      }
    } else if (request.kind() == datarun::v1::QUERY_KIND_CERTIFICATE ||
               request.kind() == datarun::v1::QUERY_KIND_DOSSIER) {
      // One subject (CheckRequest); the exchange may still refuse to seal.
      ASSIGN_OR_RETURN(
          policy::Decision d,
          AnswerDocument(catalog_, options_.seals, grant, request,
                         work[0]->data, now, &work[0]->event, &response));
      if (!d.allowed) {
        response.set_decision(datarun::v1::DECISION_DENY);
        response.set_denial_rule(d.rule);
        response.set_denial_reason(d.message);
        work[0]->decision = std::move(d);
      }
    } else {  // VERIFY (CheckRequest allows no other kind)
      // A multi-subject VERIFY answers TRUE only when it holds for every
      // subject; UNKNOWN wins over FALSE only when no subject is FALSE.
      datarun::v1::VerifyResult overall = datarun::v1::VERIFY_RESULT_TRUE;
      for (int i = 0; i < n; ++i) {
        SubjectWork& w = *work[i];
        ASSIGN_OR_RETURN(
            PredicateOutcome o,
            EvaluatePredicate(*grant.predicate, request.parameters(), w.data,
                              catalog_, now));
        if (o.result == datarun::v1::VERIFY_RESULT_FALSE ||
            (o.result == datarun::v1::VERIFY_RESULT_UNKNOWN &&
             overall == datarun::v1::VERIFY_RESULT_TRUE)) {
          overall = o.result;
        }
        std::map<std::string, datarun::v1::DisclosedClass*> read;
        for (auto& p : o.evidence) {
          auto*& dc = read[p.data_class()];
          if (dc == nullptr) {
            dc = w.event.add_disclosed();
            dc->set_data_class(p.data_class());
          }
          dc->add_record_keys(p.record_key());
          *response.add_evidence() = std::move(p);
        }
      }
      response.set_verify_result(overall);
    }
  } else {
    response.set_decision(datarun::v1::DECISION_DENY);
  }

  // The audit trail first: no response leaves without its events acked.
  std::string ids;
  for (int i = 0; i < n; ++i) {
    SubjectWork* w = work[i];
    audit::AuditLog::LinkId link;
    if (profile) {
      WriteProfileEvent(request, i, response.answered_at(), catalog_.version(),
                        grant, w->decision, w->disclosed, &w->event_bytes);
      ASSIGN_OR_RETURN(link,
                       audit_.AppendEncoded(w->partition, w->event_bytes));
    } else {
      w->event.set_decision(w->decision.allowed ? datarun::v1::DECISION_ALLOW
                                                : datarun::v1::DECISION_DENY);
      w->event.set_rule(w->decision.rule);
      AnnotateEvent(grant, request, w->decision, &w->event);
      ASSIGN_OR_RETURN(link, audit_.Append(w->partition, &w->event));
    }
    absl::StrAppend(&ids, ids.empty() ? "" : ",", link.partition, "-",
                    link.sequence);
  }
  response.set_audit_event_id(std::move(ids));
  return response;
}

}  // namespace datarun::resolver
