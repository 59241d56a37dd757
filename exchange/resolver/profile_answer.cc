#include "exchange/resolver/profile_answer.h"

#include <memory>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/audit/event_writer.h"
#include "google/protobuf/message.h"

namespace datarun::resolver {
namespace {

using datarun::v1::Record;

bool IsGating(absl::string_view cls) {
  return cls == policy::kConsentClass || cls == policy::kDelegationClass;
}

// Whether an Any with `url` holds a `full_name` (what Any::UnpackTo checks).
bool HoldsType(absl::string_view url, absl::string_view full_name) {
  return url.size() > full_name.size() &&
         url[url.size() - full_name.size() - 1] == '/' &&
         absl::EndsWith(url, full_name);
}

// The record's payload with only the agreement's fields, into `out`.
// Filtering the serialized payload gives the bytes that unpacking, masking
// by reflection and repacking would (tests: field_mask_test), at a fraction
// of the cost; payloads the filter cannot read take that slow path, which
// also says what is wrong with them.
absl::Status MaskPayload(const state::RecordEnvelope& r,
                         const policy::ClassGrant& g,
                         google::protobuf::Any* out) {
  auto not_held = [&] {
    return absl::DataLossError(absl::StrCat(
        "stored record ", r.data_class, "/", r.record_key, " of ", r.subject_id,
        " does not hold a ", g.payload->full_name()));
  };
  if (!HoldsType(r.payload_type_url, g.payload->full_name())) {
    return not_held();
  }
  out->set_type_url(g.type_url);
  if (g.mask.FilterWire(r.payload_value, out->mutable_value())) {
    return absl::OkStatus();
  }
  std::unique_ptr<google::protobuf::Message> payload(g.prototype->New());
  if (!payload->ParseFromArray(r.payload_value.data(),
                               static_cast<int>(r.payload_value.size()))) {
    return not_held();
  }
  g.mask.Apply(payload.get());
  out->clear_value();
  out->PackFrom(*payload);
  return absl::OkStatus();
}

void SetString(absl::string_view v, std::string* field) {
  field->assign(v.data(), v.size());
}

}  // namespace

absl::Status ReadProfile(state::StateStore& store, int32_t partition,
                         absl::string_view subject_id,
                         const absl::flat_hash_set<std::string>& read_classes,
                         ProfileRecords* out, std::vector<Record>* gating) {
  out->data.clear();
  out->bytes.clear();
  // Copied during the scan (the store's bytes live only for one visit) and
  // decoded once the buffer has stopped growing.
  absl::InlinedVector<std::pair<size_t, size_t>, 8> spans;
  out->bytes.reserve(1024);
  RETURN_IF_ERROR(
      store.VisitProfile(partition, subject_id, [&](absl::string_view record) {
        spans.emplace_back(out->bytes.size(), record.size());
        out->bytes.append(record.data(), record.size());
        return absl::OkStatus();
      }));
  out->data.reserve(spans.size());
  for (size_t i = 0; i < spans.size(); ++i) {
    const absl::string_view wire(out->bytes.data() + spans[i].first,
                                 spans[i].second);
    auto bad = [&](absl::string_view why) {
      return absl::DataLossError(
          absl::StrCat("stored record #", i, " of subject ", subject_id,
                       " (partition ", partition, "): ", why));
    };
    state::RecordEnvelope e;
    if (absl::Status st = state::DecodeRecordEnvelope(wire, &e); !st.ok()) {
      return bad(st.message());
    }
    if (!read_classes.contains(e.data_class)) continue;
    if (IsGating(e.data_class)) {
      // The policy reads these field by field; they are rare.
      Record& r = gating->emplace_back();
      if (!r.ParseFromArray(wire.data(), static_cast<int>(wire.size()))) {
        return bad("does not parse as a datarun.v1.Record");
      }
      continue;
    }
    out->data.push_back(e);
  }
  return absl::OkStatus();
}

absl::Status AnswerProfile(const policy::AgreementPlan& plan,
                           const datarun::v1::Subject& subject,
                           const ProfileRecords& records,
                           datarun::v1::QueryResponse* response,
                           std::vector<DisclosedView>* disclosed) {
  for (const state::RecordEnvelope& r : records.data) {
    auto g = plan.classes.find(r.data_class);
    if (g == plan.classes.end() || g->second.mask.empty()) continue;
    const policy::ClassGrant& cg = g->second;
    datarun::v1::DisclosedRecord* d = response->add_records();
    RETURN_IF_ERROR(MaskPayload(r, cg, d->mutable_payload()));
    SetString(r.data_class, d->mutable_data_class());
    // Empty strings are not set: setting one still allocates it.
    if (!r.record_key.empty()) SetString(r.record_key, d->mutable_record_key());
    d->mutable_disclosed_fields()->Reserve(cg.mask.paths().size());
    for (const auto& f : cg.mask.paths()) d->add_disclosed_fields(f);
    datarun::v1::Provenance* p = d->mutable_provenance();
    if (!r.source_department.empty()) {
      SetString(r.source_department, p->mutable_source_department());
    }
    SetString(r.data_class, p->mutable_data_class());
    if (!r.record_key.empty()) SetString(r.record_key, p->mutable_record_key());
    p->set_source_version(r.source_version);
    // Always present, as copying the record's (possibly unset) event_time
    // made it.
    google::protobuf::Timestamp* t = p->mutable_update_time();
    t->set_seconds(r.event_time_seconds);
    t->set_nanos(r.event_time_nanos);
    *d->mutable_subject() = subject;
    // A subject holds a handful of classes: a linear search beats a map.
    DisclosedView* dc = nullptr;
    for (DisclosedView& v : *disclosed) {
      if (v.data_class == r.data_class) dc = &v;
    }
    if (dc == nullptr) {
      dc = &disclosed->emplace_back();
      dc->data_class = r.data_class;
      dc->fields = &cg.mask.paths();
    }
    dc->record_keys.push_back(r.record_key);
  }
  return absl::OkStatus();
}

absl::Status AnswerProfile(const policy::AgreementPlan& plan,
                           const datarun::v1::Subject& subject,
                           const ProfileRecords& records,
                           datarun::v1::QueryResponse* response,
                           datarun::v1::AuditEvent* event) {
  std::vector<DisclosedView> disclosed;
  RETURN_IF_ERROR(AnswerProfile(plan, subject, records, response, &disclosed));
  for (const DisclosedView& v : disclosed) {
    datarun::v1::DisclosedClass* dc = event->add_disclosed();
    SetString(v.data_class, dc->mutable_data_class());
    for (const auto& f : *v.fields) dc->add_fields(f);
    for (absl::string_view k : v.record_keys) {
      dc->add_record_keys(k.data(), k.size());
    }
  }
  return absl::OkStatus();
}

void WriteProfileEvent(const datarun::v1::QueryRequest& request,
                       int subject_index,
                       const google::protobuf::Timestamp& answered_at,
                       absl::string_view catalog_version,
                       const policy::RequestGrant& grant,
                       const policy::Decision& decision,
                       absl::Span<const DisclosedView> disclosed,
                       std::string* out) {
  // Field by field in increasing number, as protobuf writes the message
  // Handle builds for the other kinds (audit/event_writer.h).
  audit::AuditEventWriter w(out);
  w.Message(audit::kTime, answered_at);
  w.String(audit::kRequestId, request.request_id());
  w.String(audit::kRequesterDepartment, request.requester_department());
  w.String(audit::kOfficerId, request.officer_id());
  if (request.has_on_behalf_of()) {
    w.Message(audit::kOnBehalfOf, request.on_behalf_of());
  }
  w.String(audit::kMatter, request.matter());
  if (subject_index < request.subjects_size()) {
    w.Message(audit::kSubject, request.subjects(subject_index));
  }
  w.Enum(audit::kKind, request.kind());
  for (const DisclosedView& v : disclosed) {
    w.Disclosed(v.data_class, *v.fields, v.record_keys);
  }
  w.Enum(audit::kDecision, decision.allowed ? datarun::v1::DECISION_ALLOW
                                            : datarun::v1::DECISION_DENY);
  w.String(audit::kRule, decision.rule);
  w.String(audit::kDetail, request.predicate_id());
  w.String(audit::kCatalogVersion, catalog_version);
  // AnnotateEvent's exemption: the exempted classes among those disclosed,
  // in the agreement's order, and then its legal basis.
  if (!decision.allowed || grant.consent_exempted == nullptr) return;
  bool exempted = false;
  for (const std::string& cls : *grant.consent_exempted) {
    for (const DisclosedView& v : disclosed) {
      if (v.data_class == cls) {
        w.RepeatedString(audit::kConsentExemptClasses, cls);
        exempted = true;
        break;
      }
    }
  }
  if (exempted) {
    w.String(audit::kConsentExemptionBasis,
             grant.plan->agreement->legal_basis());
  }
}

}  // namespace datarun::resolver
