// How `datarun replay` prints records of each kind of topic and which
// entries its filters keep, on real serialized messages.
#include "tools/cli/replay_decode.h"

#include <string>

#include "absl/strings/escaping.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/audit.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"
#include "proto/datarun/v1/query.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::cli {
namespace {

using ::testing::HasSubstr;

constexpr char kCitizen[] = "11010519491231002X";

// The line parsed back as JSON (every line must be valid JSON).
google::protobuf::Struct Parse(const std::string& line) {
  google::protobuf::Struct s;
  auto st = google::protobuf::util::JsonStringToMessage(line, &s);
  EXPECT_TRUE(st.ok()) << st << "\n" << line;
  return s;
}

broker::Message DataMessage() {
  datarun::v1::departments::HouseholdRegistration h;
  h.set_name("张三");
  h.set_household_number("330106-0001");
  datarun::v1::Record r;
  r.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  r.mutable_subject()->set_id(kCitizen);
  r.set_data_class("household_registration");
  r.set_source_department("public_security");
  r.set_source_version(3);
  r.set_op(datarun::v1::Record::OP_UPSERT);
  r.mutable_payload()->PackFrom(h);
  broker::Message m;
  m.topic = "dr.data.public_security.household_registration";
  m.partition = 1;
  m.offset = 7;
  m.key = kCitizen;
  m.value = r.SerializeAsString();
  m.headers = {
      {"dr-payload-type", "datarun.v1.departments.HouseholdRegistration"}};
  m.timestamp = absl::FromUnixMillis(1764151200123);
  return m;
}

TEST(ReplayDecode, DataRecordWithTypedPayload) {
  auto line = ReplayLine(DataMessage(), {});
  ASSERT_TRUE(line.has_value());
  google::protobuf::Struct s = Parse(*line);
  EXPECT_EQ(s.fields().at("topic").string_value(),
            "dr.data.public_security.household_registration");
  EXPECT_EQ(s.fields().at("offset").number_value(), 7);
  EXPECT_EQ(s.fields().at("timestamp").string_value(),
            "2025-11-26T10:00:00.123Z");
  EXPECT_EQ(s.fields()
                .at("headers")
                .struct_value()
                .fields()
                .at("dr-payload-type")
                .string_value(),
            "datarun.v1.departments.HouseholdRegistration");
  const auto& payload = s.fields()
                            .at("value")
                            .struct_value()
                            .fields()
                            .at("payload")
                            .struct_value()
                            .fields();
  EXPECT_EQ(payload.at("name").string_value(), "张三");
  EXPECT_EQ(payload.at("@type").string_value(),
            "type.googleapis.com/datarun.v1.departments.HouseholdRegistration");
}

TEST(ReplayDecode, FiltersOnDataRecords) {
  const broker::Message m = DataMessage();
  EXPECT_TRUE(ReplayLine(m, {kCitizen, "", "", ""}).has_value());
  EXPECT_FALSE(ReplayLine(m, {"110105194912310029", "", "", ""}).has_value());
  EXPECT_TRUE(ReplayLine(m, {"", "public_security", "", ""}).has_value());
  EXPECT_FALSE(ReplayLine(m, {"", "civil_affairs", "", ""}).has_value());
  EXPECT_TRUE(
      ReplayLine(m, {"", "", "", "household_registration"}).has_value());
  EXPECT_FALSE(ReplayLine(m, {"", "", "", "id_card"}).has_value());
  // A record carries no matter: a matter filter leaves it out.
  EXPECT_FALSE(ReplayLine(m, {"", "", "birth_registration", ""}).has_value());
}

TEST(ReplayDecode, AuditLinkPrintsItsEvent) {
  datarun::v1::AuditEvent e;
  e.set_event_id("ev-1");
  e.set_requester_department("civil_affairs");
  e.set_matter("low_income_assistance_application");
  e.mutable_subject()->set_id(kCitizen);
  e.add_disclosed()->set_data_class("household_registration");
  datarun::v1::ChainLink link;
  link.set_partition(2);
  link.set_sequence(5);
  link.set_event_bytes(e.SerializeAsString());
  broker::Message m;
  m.topic = "dr.audit";
  m.partition = 2;
  m.value = link.SerializeAsString();
  auto line = ReplayLine(
      m, {kCitizen, "civil_affairs", "low_income_assistance_application",
          "household_registration"});
  ASSERT_TRUE(line.has_value());
  google::protobuf::Struct s = Parse(*line);
  EXPECT_EQ(s.fields()
                .at("event")
                .struct_value()
                .fields()
                .at("event_id")
                .string_value(),
            "ev-1");
  EXPECT_EQ(s.fields()
                .at("value")
                .struct_value()
                .fields()
                .at("sequence")
                .string_value(),
            "5");
  EXPECT_EQ(s.fields().at("value").struct_value().fields().count("event_bytes"),
            0u);
  EXPECT_FALSE(ReplayLine(m, {"", "", "birth_registration", ""}).has_value());
  EXPECT_FALSE(ReplayLine(m, {"", "courts", "", ""}).has_value());
}

TEST(ReplayDecode, QueryRequestAndResponse) {
  datarun::v1::QueryRequest q;
  q.set_requester_department("courts");
  q.set_matter("court_case_filing");
  q.add_subjects()->set_id(kCitizen);
  broker::Message m;
  m.topic = "dr.query.req";
  m.value = q.SerializeAsString();
  EXPECT_TRUE(
      ReplayLine(m, {kCitizen, "courts", "court_case_filing", ""}).has_value());
  EXPECT_FALSE(ReplayLine(m, {"", "", "birth_registration", ""}).has_value());

  datarun::v1::QueryResponse r;
  r.set_request_id("rq-1");
  r.set_decision(datarun::v1::DECISION_DENY);
  m.topic = "dr.query.resp.courts";
  m.value = r.SerializeAsString();
  auto line = ReplayLine(m, {"", "courts", "", ""});
  ASSERT_TRUE(line.has_value());
  EXPECT_THAT(*line, HasSubstr("\"decision\":\"DECISION_DENY\""));
  EXPECT_FALSE(ReplayLine(m, {"", "civil_affairs", "", ""}).has_value());
}

TEST(ReplayDecode, DlqEntryKeepsBytesAndReason) {
  broker::Message m;
  m.topic = "dr.dlq.public_security";
  m.key = kCitizen;
  m.value = std::string("\xff\x00garbage", 9);
  m.headers = {{"dr-dlq-reason", "MALFORMED"}, {"dr-dlq-offset", "12"}};
  auto line = ReplayLine(m, {kCitizen, "public_security", "", ""});
  ASSERT_TRUE(line.has_value());
  google::protobuf::Struct s = Parse(*line);
  EXPECT_EQ(s.fields().at("value_base64").string_value(),
            absl::Base64Escape(m.value));
  EXPECT_EQ(s.fields()
                .at("headers")
                .struct_value()
                .fields()
                .at("dr-dlq-reason")
                .string_value(),
            "MALFORMED");
}

TEST(ReplayDecode, UndecodableValueIsBase64WithTheReason) {
  broker::Message m = DataMessage();
  m.value = "\x0a\xff";  // truncated field
  m.key = "\xc3\x28";    // invalid UTF-8
  auto line = ReplayLine(m, {});
  ASSERT_TRUE(line.has_value());
  google::protobuf::Struct s = Parse(*line);
  EXPECT_THAT(s.fields().at("decode_error").string_value(),
              HasSubstr("not a datarun.v1.Record"));
  EXPECT_EQ(s.fields().at("key_base64").string_value(),
            absl::Base64Escape(m.key));
}

TEST(ReplayDecode, Utf8Validation) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("浙A77777"));
  EXPECT_TRUE(IsValidUtf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));  // surrogate
  EXPECT_EQ(JsonQuote("a\"b\\\n\x01"), "\"a\\\"b\\\\\\n\\u0001\"");
}

}  // namespace
}  // namespace datarun::cli
