// Mapper::Encode (direct wire format) against Mapper::Map +
// SerializeToString (reflection) for the mappings in the repository and
// mappings that reach every conversion: same acceptance, same rejection
// reason and detail, and for accepted rows the same bytes, the same parsed
// Record and the subject id as the key.
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "connectors/mapping.h"
#include "exchange/catalog/catalog.h"
#include "exchange/subject/subject_id.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace datarun::connectors {
namespace {

namespace v1 = datarun::connectors::v1;
using Columns = std::vector<std::pair<std::string, std::string>>;

const catalog::CatalogIndex& Catalog() {
  static const catalog::CatalogIndex* index = [] {
    auto c = catalog::LoadCatalog("exchange/catalog/zhejiang.textproto");
    EXPECT_TRUE(c.ok()) << c.status();
    return catalog::CatalogIndex::Create(*std::move(c))->release();
  }();
  return *index;
}

std::string Citizen(int seq) {
  return *subject::MakeCitizenId(330106, absl::CivilDay(1985, 3, 4), seq);
}

std::string BadCitizen() {
  std::string id = Citizen(1);
  id[17] = id[17] == '1' ? '2' : '1';  // wrong check character
  return id;
}

std::unique_ptr<Mapper> Make(const std::string& text,
                             const std::string& department) {
  v1::Mapping mapping;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &mapping))
      << text;
  auto mapper = Mapper::Create(mapping, Catalog(), department);
  EXPECT_TRUE(mapper.ok()) << mapper.status();
  return mapper.ok() ? *std::move(mapper) : nullptr;
}

// Encodes every row both ways and compares; returns how many were accepted.
int ExpectSameAsMap(const Mapper& mapper, const std::vector<Columns>& rows) {
  int accepted = 0;
  std::string value = "stale bytes", key = "stale key";
  for (size_t i = 0; i < rows.size(); ++i) {
    SCOPED_TRACE(absl::StrCat("row ", i));
    Row row;
    row.columns = rows[i];
    row.layout = 7;
    datarun::v1::Record record;
    RowRejection by_map, by_encode;
    const bool mapped = mapper.Map(row, &record, &by_map);
    const bool encoded =
        mapper.Encode(row, mapper.Bind(row), &value, &key, &by_encode);
    EXPECT_EQ(encoded, mapped) << by_map.detail << " / " << by_encode.detail;
    if (!mapped || !encoded) {
      EXPECT_EQ(by_encode.reason, by_map.reason);
      EXPECT_EQ(by_encode.detail, by_map.detail);
      continue;
    }
    ++accepted;
    EXPECT_EQ(value, record.SerializeAsString());
    datarun::v1::Record parsed;
    EXPECT_TRUE(parsed.ParseFromString(value));
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(parsed, record))
        << parsed.DebugString() << "\nvs\n"
        << record.DebugString();
    EXPECT_EQ(key, record.subject().id());
  }
  return accepted;
}

// connectors/mapping_test.cc's vehicle mapping (event time, op column).
TEST(MappingEncodeTest, VehicleMappingWithEventTimeAndOp) {
  auto mapper =
      Make(R"pb(
             data_class: "vehicle_registration"
             format: FORMAT_CSV
             subject_column: "身份证号"
             record_key_column: "号牌号码"
             version_column: "版本"
             event_time_column: "更新时间"
             op_column: "操作"
             fields { column: "号牌号码" field: "plate_number" required: true }
             fields { column: "车辆识别代号" field: "vin" required: true }
             fields {
               column: "车辆类型"
               field: "vehicle_type"
               labels { label: "小型汽车" value: "VEHICLE_TYPE_SMALL_CAR" }
             }
             fields {
               column: "状态"
               field: "status"
               labels { label: "正常" value: "VEHICLE_STATUS_NORMAL" }
             }
             fields { column: "注册日期" field: "registration_date" }
             fields { column: "排量" field: "displacement_ml" }
           )pb",
           "public_security");
  ASSERT_NE(mapper, nullptr);
  auto row = [](std::string id, std::string time, std::string op,
                std::string type, std::string date, std::string ml) {
    return Columns{{"身份证号", std::move(id)},
                   {"号牌号码", "浙A12345"},
                   {"版本", "7"},
                   {"更新时间", std::move(time)},
                   {"操作", std::move(op)},
                   {"车辆识别代号", "LSVAU2180N2183294"},
                   {"车辆类型", std::move(type)},
                   {"状态", "normal"},
                   {"注册日期", std::move(date)},
                   {"排量", std::move(ml)}};
  };
  const std::vector<Columns> rows = {
      row(Citizen(1), "2026-01-02 03:04:05", "", "小型汽车", "2020年5月6日",
          "1498"),
      row(Citizen(2), "2026-01-02T03:04:05.25", "U", "truck", "20200506", "0"),
      row(Citizen(3), "1969-12-31 23:59:59.5", "新增", "", "", "-3"),
      row(Citizen(4), "2026-01-02", "D", "火箭", "bad", "x"),  // delete
      row(Citizen(5), "2026-01-02", "", "火箭", "2020-01-01", "1"),
      row(Citizen(6), "2026-01-02", "", "小型汽车", "2020-02-30", "1"),
      row(Citizen(7), "2026-01-02", "", "小型汽车", "2020-02-03", "9999999999"),
      row(Citizen(8), "not a time", "", "", "", ""),
      row(Citizen(9), "2026-01-02", "maybe", "", "", ""),
      row(BadCitizen(), "2026-01-02", "", "", "", ""),
      row("", "2026-01-02", "", "", "", ""),
  };
  EXPECT_EQ(ExpectSameAsMap(*mapper, rows), 4);
}

// tests/bench/connect_bench.cc's mapping (quoted model with a comma), and
// connector_crash_test's and the postgres test's (a subset of its fields).
TEST(MappingEncodeTest, BenchAndCrashTestMappings) {
  auto mapper =
      Make(R"pb(
             data_class: "vehicle_registration"
             format: FORMAT_CSV
             subject_column: "sfzh"
             record_key_column: "plate"
             version_column: "version"
             op_column: "op"
             fields { column: "plate" field: "plate_number" required: true }
             fields { column: "vin" field: "vin" required: true }
             fields { column: "model" field: "model" }
             fields {
               column: "type"
               field: "vehicle_type"
               labels { label: "小型汽车" value: "VEHICLE_TYPE_SMALL_CAR" }
             }
             fields {
               column: "status"
               field: "status"
               labels { label: "正常" value: "VEHICLE_STATUS_NORMAL" }
             }
             fields { column: "registered" field: "registration_date" }
             fields { column: "displacement" field: "displacement_ml" }
           )pb",
           "public_security");
  ASSERT_NE(mapper, nullptr);
  std::vector<Columns> rows;
  for (int i = 0; i < 50; ++i) {
    rows.push_back(
        Columns{{"sfzh", Citizen(i + 1)},
                {"plate", absl::StrCat("浙A", 100000 + i)},
                {"version", absl::StrCat(1 + i * 1000003)},
                {"op", i % 7 == 3 ? "DELETE" : ""},
                {"vin", absl::StrCat("LVIN", 1000000000000 + i)},
                {"model", absl::StrCat("Model ", i, ", SUV")},
                {"type", "小型汽车"},
                {"status", "正常"},
                {"registered", absl::StrCat("2020-0", 1 + i % 9, "-1", i % 10)},
                {"displacement", absl::StrCat(1000 + i * 37)}});
  }
  rows[5][1].second = "";                        // required record key
  rows[6][4].second = "";                        // required vin
  rows[8].pop_back();                            // displacement column missing
  rows[9][5].second = std::string(300, 'm');     // lengths over 127 bytes
  rows[11][5].second = std::string(20000, 'n');  // and over 16383
  EXPECT_EQ(ExpectSameAsMap(*mapper, rows), 48);
}

// Credit-code subjects, a Subject field, nested Address paths, scaled
// int64, bool, Date and an enum by value suffix.
TEST(MappingEncodeTest, NestedPathsSubjectsScaleAndBooleans) {
  auto mapper = Make(
      R"pb(
        data_class: "social_organization_registration"
        format: FORMAT_CSV
        subject_column: "code"
        version_column: "v"
        fields { column: "name" field: "name" }
        fields { column: "kind" field: "kind" }
        fields { column: "rep" field: "legal_representative" }
        fields { column: "city" field: "address.city" }
        fields { column: "detail" field: "address.detail" }
        fields { column: "region" field: "address.region_code" }
        fields { column: "capital" field: "registered_capital_fen" scale: 2 }
        fields { column: "since" field: "established.year" }
        fields { column: "active" field: "active" }
      )pb",
      "civil_affairs");
  ASSERT_NE(mapper, nullptr);
  const std::string code = subject::SubjectIdGenerator(5).NextCreditCode();
  ASSERT_TRUE(subject::ParseCreditCode(code).ok()) << code;
  auto row = [&](std::string rep, std::string city, std::string detail,
                 std::string capital, std::string since, std::string active) {
    return Columns{{"code", code},
                   {"v", "3"},
                   {"name", "西湖慈善会"},
                   {"kind", "foundation"},
                   {"rep", std::move(rep)},
                   {"city", std::move(city)},
                   {"detail", std::move(detail)},
                   {"region", ""},
                   {"capital", std::move(capital)},
                   {"since", std::move(since)},
                   {"active", std::move(active)}};
  };
  const std::vector<Columns> rows = {
      row(Citizen(1), "杭州市", "文三路1号", "1234.5", "2001", "是"),
      row(code, "", "", "0", "0", "false"),       // defaults, empty Address
      row("", "", "x", "-12.30", "", "0"),        // Address from one field
      row("", "杭州市", "", "1.234", "", "yes"),  // too many decimals
      row("", "", "", "", "", "perhaps"),         // not a boolean
      row(BadCitizen(), "", "", "", "", ""),      // bad Subject field
      row("", "", "", "", "99999999999", ""),     // int32 overflow
  };
  EXPECT_EQ(ExpectSameAsMap(*mapper, rows), 3);
}

// Timestamps (local and RFC 3339, before 1970 too), Subject fields, int32.
TEST(MappingEncodeTest, TimestampsAndSubjectFields) {
  auto mapper =
      Make(R"pb(
             data_class: "birth_certificate"
             format: FORMAT_CSV
             subject_column: "child"
             event_time_column: "t"
             fields { column: "no" field: "certificate_number" required: true }
             fields { column: "born" field: "born_at" }
             fields { column: "gender" field: "gender" }
             fields { column: "grams" field: "weight_grams" }
             fields { column: "mother" field: "mother" }
           )pb",
           "health_commission");
  ASSERT_NE(mapper, nullptr);
  auto row = [&](std::string born, std::string grams, std::string mother) {
    return Columns{
        {"child", Citizen(3)},        {"t", "2026-03-04 05:06:07.123456"},
        {"no", "Q330012345"},         {"born", std::move(born)},
        {"gender", "female"},         {"grams", std::move(grams)},
        {"mother", std::move(mother)}};
  };
  const std::vector<Columns> rows = {
      row("2026-03-04 05:06:07", "3200", Citizen(4)),
      row("1960-01-01T00:00:00.5Z", "0", ""),
      row("1970-01-01T00:00:00Z", "", ""),  // epoch: an empty Timestamp
      row("yesterday", "1", ""),
      row("", "", "not an id"),
  };
  EXPECT_EQ(ExpectSameAsMap(*mapper, rows), 3);
}

// A field mapped twice cannot be written in one pass: Encode falls back to
// Map and still gives Map's bytes.
TEST(MappingEncodeTest, FieldMappedTwiceFallsBackToMap) {
  auto mapper = Make(R"pb(
                       data_class: "vehicle_registration"
                       format: FORMAT_CSV
                       subject_column: "sfzh"
                       record_key_column: "plate"
                       version_column: "version"
                       fields { column: "plate" field: "plate_number" }
                       fields { column: "plate2" field: "plate_number" }
                     )pb",
                     "public_security");
  ASSERT_NE(mapper, nullptr);
  const std::vector<Columns> rows = {
      {{"sfzh", Citizen(1)},
       {"plate", "浙A1"},
       {"version", "1"},
       {"plate2", "浙A2"}},
      {{"sfzh", Citizen(1)}, {"plate", "浙A1"}, {"version", "0"}},
  };
  EXPECT_EQ(ExpectSameAsMap(*mapper, rows), 1);
}

// Source errors (broken CSV quoting, invalid UTF-8) are rejected as is.
TEST(MappingEncodeTest, SourceErrorsAreRejectedWithTheirReason) {
  auto mapper = Make(R"pb(
                       data_class: "vehicle_registration"
                       format: FORMAT_CSV
                       subject_column: "sfzh"
                       record_key_column: "plate"
                       version_column: "version"
                     )pb",
                     "public_security");
  ASSERT_NE(mapper, nullptr);
  Row row;
  row.source_error = "field 2: quote inside an unquoted field";
  row.source_error_reason = "bad_csv";
  std::string value, key;
  RowRejection why;
  EXPECT_FALSE(mapper->Encode(row, mapper->Bind(row), &value, &key, &why));
  EXPECT_EQ(why.reason, "bad_csv");
  EXPECT_EQ(why.detail, row.source_error);
}

}  // namespace
}  // namespace datarun::connectors
