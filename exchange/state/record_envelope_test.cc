#include "exchange/state/record_envelope.h"

#include <random>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::state {
namespace {

using datarun::v1::Record;

Record RandomRecord(std::mt19937_64& rng) {
  Record r;
  auto text = [&rng](size_t max) {
    std::string s(rng() % (max + 1), 'a');
    for (char& c : s) c = static_cast<char>('0' + rng() % 75);
    return s;
  };
  if (rng() % 8 != 0) {
    r.mutable_subject()->set_kind(
        static_cast<datarun::v1::SubjectKind>(rng() % 3));
    r.mutable_subject()->set_id(text(20));
  }
  r.set_data_class(text(30));
  r.set_source_department(text(20));
  if (rng() % 2) r.set_record_key("车牌" + text(8));  // multi-byte UTF-8
  r.set_source_version(rng() % 4 == 0 ? rng() : rng() % 1000);
  r.set_op(static_cast<Record::Op>(rng() % 3));
  if (rng() % 4 != 0) {
    r.mutable_event_time()->set_seconds(static_cast<int64_t>(rng()));
    r.mutable_event_time()->set_nanos(static_cast<int32_t>(rng() % 1000000000));
  }
  if (rng() % 5 != 0) {
    r.mutable_payload()->set_type_url("type.googleapis.com/" + text(25));
    std::string value = text(300);
    for (char& c : value) c = static_cast<char>(rng());  // any bytes
    r.mutable_payload()->set_value(value);
  }
  if (rng() % 2) r.set_trace_id(text(16));
  return r;
}

// The envelope must say what protobuf's own parse says.
void ExpectSame(const Record& r, const RecordEnvelope& e) {
  EXPECT_EQ(e.subject_kind, r.subject().kind());
  EXPECT_EQ(e.subject_id, r.subject().id());
  EXPECT_EQ(e.data_class, r.data_class());
  EXPECT_EQ(e.source_department, r.source_department());
  EXPECT_EQ(e.record_key, r.record_key());
  EXPECT_EQ(e.source_version, r.source_version());
  EXPECT_EQ(e.op, r.op());
  EXPECT_EQ(e.payload_type_url, r.payload().type_url());
  EXPECT_EQ(e.payload_value, r.payload().value());
  EXPECT_EQ(e.has_event_time, r.has_event_time());
  EXPECT_EQ(e.event_time_seconds, r.event_time().seconds());
  EXPECT_EQ(e.event_time_nanos, r.event_time().nanos());
}

TEST(RecordEnvelopeTest, MatchesProtobufOnValidRecords) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    const Record r = RandomRecord(rng);
    const std::string bytes = r.SerializeAsString();
    RecordEnvelope e;
    ASSERT_TRUE(DecodeRecordEnvelope(bytes, &e).ok()) << i;
    ExpectSame(r, e);
    EXPECT_EQ(e.payload_fields, r.has_payload() ? 1 : 0);
  }
}

TEST(RecordEnvelopeTest, PayloadRangeCutsOutExactlyThePayload) {
  std::mt19937_64 rng(11);
  for (int i = 0; i < 200; ++i) {
    Record r = RandomRecord(rng);
    r.mutable_payload()->set_type_url("type.googleapis.com/x.Y");
    const std::string bytes = r.SerializeAsString();
    RecordEnvelope e;
    ASSERT_TRUE(DecodeRecordEnvelope(bytes, &e).ok());
    ASSERT_EQ(e.payload_fields, 1);
    const std::string cut =
        bytes.substr(0, e.payload_begin) + bytes.substr(e.payload_end);
    Record without;
    ASSERT_TRUE(without.ParseFromString(cut));
    Record expected = r;
    expected.clear_payload();
    EXPECT_EQ(without.SerializeAsString(), expected.SerializeAsString());
  }
}

// Protobuf's wire rules the envelope must follow: the last occurrence of a
// field wins, repeated sub-messages merge, unknown fields (also known
// numbers with another wire type) are skipped, groups included.
TEST(RecordEnvelopeTest, FollowsProtobufMergeAndUnknownFieldRules) {
  Record first;
  first.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  first.mutable_subject()->set_id("A");
  first.set_data_class("c1");
  first.set_source_version(5);
  first.mutable_event_time()->set_seconds(1);
  first.mutable_event_time()->set_nanos(2);
  Record second;
  second.mutable_subject()->set_id("B");  // kind stays CITIZEN (merge)
  second.set_data_class("c2");
  second.mutable_payload()->set_type_url("t/1");
  second.mutable_payload()->set_value("v1");
  Record third;
  third.mutable_payload()->set_type_url("t/2");
  third.mutable_event_time()->set_nanos(9);
  std::string bytes = first.SerializeAsString() + second.SerializeAsString() +
                      third.SerializeAsString();
  // Unknown: field 5 as length-delimited, field 99 varint, a group 50 with
  // a nested fixed32, field 6 as fixed64.
  bytes += std::string("\x2a\x02hi", 4);
  bytes += std::string("\x98\x06\x01", 3);
  bytes += std::string("\x93\x03\x0d\x01\x02\x03\x04\x94\x03", 9);
  bytes += std::string("\x31\x01\x02\x03\x04\x05\x06\x07\x08", 9);
  Record parsed;
  ASSERT_TRUE(parsed.ParseFromString(bytes));
  RecordEnvelope e;
  ASSERT_TRUE(DecodeRecordEnvelope(bytes, &e).ok());
  ExpectSame(parsed, e);
  EXPECT_EQ(e.subject_id, "B");
  EXPECT_EQ(e.subject_kind, datarun::v1::SUBJECT_KIND_CITIZEN);
  EXPECT_EQ(e.source_version, 5u);
  EXPECT_EQ(e.event_time_seconds, 1);  // from the first, nanos from the third
  EXPECT_EQ(e.event_time_nanos, 9);
  EXPECT_EQ(e.payload_value, "v1");  // the third's Any has no value
  EXPECT_EQ(e.payload_fields, 2);    // tombstones then take the slow path
}

TEST(RecordEnvelopeTest, RejectsWhatProtobufRejectsAndNamesWhere) {
  RecordEnvelope e;
  // Invalid UTF-8 in a string field.
  Record r;
  r.set_data_class("ok");
  std::string bytes = r.SerializeAsString();
  bytes[2] = '\xff';
  Record parsed;
  EXPECT_FALSE(parsed.ParseFromString(bytes));
  absl::Status s = DecodeRecordEnvelope(bytes, &e);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("field 2 at byte 0"), std::string::npos) << s;
  // A length past the end, inside the subject.
  s = DecodeRecordEnvelope(std::string("\x0a\x04\x12\x05"
                                       "abc",
                                       7),
                           &e);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Record.subject"), std::string::npos) << s;
  // A zero tag, an unmatched end group, wire type 7.
  EXPECT_FALSE(DecodeRecordEnvelope(std::string("\x00", 1), &e).ok());
  EXPECT_FALSE(DecodeRecordEnvelope(std::string("\x0c", 1), &e).ok());
  EXPECT_FALSE(DecodeRecordEnvelope(std::string("\x0f", 1), &e).ok());
  // A group closed with another field's end.
  EXPECT_FALSE(
      DecodeRecordEnvelope(std::string("\x93\x03\x9c\x03", 4), &e).ok());
}

// Every truncation and many random corruptions of real records: the
// envelope accepts exactly what protobuf accepts, and then agrees with it.
TEST(RecordEnvelopeTest, AgreesWithProtobufOnCorruptedBytes) {
  std::mt19937_64 rng(3);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 300; ++i) {
    const std::string good = RandomRecord(rng).SerializeAsString();
    std::vector<std::string> variants;
    for (size_t n = 0; n < good.size(); n += 1 + good.size() / 40) {
      variants.push_back(good.substr(0, n));
    }
    for (int k = 0; k < 20 && !good.empty(); ++k) {
      std::string bad = good;
      const int flips = 1 + rng() % 3;
      for (int f = 0; f < flips; ++f) {
        // Mostly the envelope's first bytes, where the structure is.
        const size_t at =
            rng() % std::min<size_t>(bad.size(), rng() % 2 ? 64 : bad.size());
        bad[at] = static_cast<char>(rng());
      }
      variants.push_back(bad);
    }
    for (const std::string& v : variants) {
      Record parsed;
      const bool ok = parsed.ParseFromString(v);
      RecordEnvelope e;
      const absl::Status s = DecodeRecordEnvelope(v, &e);
      ASSERT_EQ(s.ok(), ok)
          << "record " << i << ": " << s << " bytes " << absl::CEscape(v);
      if (ok) {
        ExpectSame(parsed, e);
        ++accepted;
      } else {
        ++rejected;
      }
    }
  }
  // Both outcomes were exercised.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace datarun::state
