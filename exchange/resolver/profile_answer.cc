#include "exchange/resolver/profile_answer.h"

#include <memory>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
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
                           datarun::v1::AuditEvent* event) {
  // A subject holds a handful of classes: a linear search beats a map keyed
  // by copied class names.
  absl::InlinedVector<
      std::pair<absl::string_view, datarun::v1::DisclosedClass*>, 8>
      disclosed;
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
    datarun::v1::DisclosedClass* dc = nullptr;
    for (const auto& [cls, c] : disclosed) {
      if (cls == r.data_class) dc = c;
    }
    if (dc == nullptr) {
      dc = event->add_disclosed();
      disclosed.emplace_back(r.data_class, dc);
      SetString(r.data_class, dc->mutable_data_class());
      dc->mutable_fields()->Reserve(cg.mask.paths().size());
      for (const auto& f : cg.mask.paths()) dc->add_fields(f);
    }
    dc->add_record_keys(r.record_key.data(), r.record_key.size());
  }
  return absl::OkStatus();
}

}  // namespace datarun::resolver
