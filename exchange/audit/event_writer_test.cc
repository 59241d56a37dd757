#include "exchange/audit/event_writer.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/audit.pb.h"

namespace datarun::audit {
namespace {

using datarun::v1::AuditEvent;

void WriteTo(const AuditEvent& e, std::string* out);

// Writes `e` (without its event_id) the way the resolver does, field by field
// in increasing number, from the message's own values.
std::string Write(const AuditEvent& e, std::string out = "left over") {
  WriteTo(e, &out);
  return out;
}

void WriteTo(const AuditEvent& e, std::string* out) {
  AuditEventWriter w(out);
  if (e.has_time()) w.Message(kTime, e.time());
  w.String(kRequestId, e.request_id());
  w.String(kRequesterDepartment, e.requester_department());
  w.String(kOfficerId, e.officer_id());
  if (e.has_on_behalf_of()) w.Message(kOnBehalfOf, e.on_behalf_of());
  w.String(kMatter, e.matter());
  if (e.has_subject()) w.Message(kSubject, e.subject());
  w.Enum(kKind, e.kind());
  for (const auto& d : e.disclosed()) {
    std::vector<std::string> fields(d.fields().begin(), d.fields().end());
    std::vector<absl::string_view> keys(d.record_keys().begin(),
                                        d.record_keys().end());
    w.Disclosed(d.data_class(), fields, keys);
  }
  w.Enum(kDecision, e.decision());
  w.String(kRule, e.rule());
  w.String(kDetail, e.detail());
  w.String(kCatalogVersion, e.catalog_version());
  for (const auto& c : e.consent_exempt_classes()) {
    w.RepeatedString(kConsentExemptClasses, c);
  }
  w.String(kConsentExemptionBasis, e.consent_exemption_basis());
  w.String(kDocumentId, e.document_id());
}

AuditEvent Full() {
  AuditEvent e;
  e.mutable_time()->set_seconds(1'790'000'000);
  e.mutable_time()->set_nanos(123'456'789);
  e.set_request_id("req-1");
  e.set_requester_department("courts");
  e.set_officer_id("judge-7");
  e.mutable_on_behalf_of()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  e.mutable_on_behalf_of()->set_id("330106195001010014");
  e.set_matter("court_case_filing");
  e.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  e.mutable_subject()->set_id("33010619500101002X");
  e.set_kind(datarun::v1::QUERY_KIND_PROFILE);
  auto* d = e.add_disclosed();
  d->set_data_class("household_registration");
  d->add_fields("name");
  d->add_fields("address.city");
  d->add_record_keys("");
  d = e.add_disclosed();
  d->set_data_class("vehicle_registration");
  d->add_fields("plate_number");
  d->add_record_keys("浙A10000");
  d->add_record_keys("浙A10001");
  e.set_decision(datarun::v1::DECISION_ALLOW);
  e.set_rule("agreement.courts.filing");
  e.set_detail("owns_vehicle");
  e.set_catalog_version("2026.11");
  e.add_consent_exempt_classes("real_estate_title");
  e.add_consent_exempt_classes("");
  e.set_consent_exemption_basis("民事诉讼法 第六十七条");
  e.set_document_id("cert-1");
  return e;
}

TEST(AuditEventWriter, WritesWhatProtobufSerializes) {
  std::vector<AuditEvent> events;
  events.push_back(Full());
  events.emplace_back();  // nothing set
  {
    // Present but empty messages, empty repeated elements, an empty class.
    AuditEvent e;
    e.mutable_time();
    e.mutable_subject();
    e.mutable_on_behalf_of();
    auto* d = e.add_disclosed();
    d->add_fields("");
    d->add_record_keys("");
    e.add_disclosed();
    e.set_decision(datarun::v1::DECISION_DENY);
    events.push_back(e);
  }
  {
    // Lengths of one, two and three varint bytes.
    AuditEvent e = Full();
    e.set_request_id(std::string(127, 'a'));
    e.set_rule(std::string(128, 'b'));
    e.set_detail(std::string(20000, 'c'));
    auto* d = e.add_disclosed();
    d->set_data_class(std::string(200, 'd'));
    for (int i = 0; i < 40; ++i) d->add_fields(absl::StrCat("field_", i));
    events.push_back(e);
  }
  {
    // A subject carrying a field this build does not know: kept as protobuf
    // keeps it.
    AuditEvent e = Full();
    std::string subject = e.subject().SerializeAsString();
    subject.append("\x98\x06\x07", 3);  // field 99, varint 7
    ASSERT_TRUE(e.mutable_subject()->ParseFromString(subject));
    events.push_back(e);
  }
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(Write(events[i]), events[i].SerializeAsString()) << i;
  }
  // One buffer reused across events of every size, as the resolver does.
  std::string reused;
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < events.size(); ++i) {
      WriteTo(events[i], &reused);
      EXPECT_EQ(reused, events[i].SerializeAsString()) << round << " " << i;
    }
  }
}

TEST(AuditEventWriter, PrependEventIdGivesTheEventWithItsId) {
  AuditEvent e = Full();
  std::string out = "stale";
  PrependEventId("3-17", Write(e), &out);
  e.set_event_id("3-17");
  EXPECT_EQ(out, e.SerializeAsString());
  e.set_event_id(std::string(300, 'x'));
  PrependEventId(e.event_id(), Write(e), &out);
  EXPECT_EQ(out, e.SerializeAsString());
}

}  // namespace
}  // namespace datarun::audit
