#include "connectors/mapping.h"

#include <memory>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "exchange/catalog/catalog.h"
#include "exchange/subject/subject_id.h"
#include "gmock/gmock.h"
#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/civil_affairs.pb.h"
#include "proto/datarun/v1/departments/public_security.pb.h"

namespace datarun::connectors {
namespace {

using ::testing::HasSubstr;
namespace v1 = datarun::connectors::v1;
namespace dep = datarun::v1::departments;

constexpr char kCatalog[] = "exchange/catalog/zhejiang.textproto";

const catalog::CatalogIndex& Catalog() {
  static const catalog::CatalogIndex* index = [] {
    auto c = catalog::LoadCatalog(kCatalog);
    EXPECT_TRUE(c.ok()) << c.status();
    return catalog::CatalogIndex::Create(*std::move(c))->release();
  }();
  return *index;
}

v1::Mapping ParseMapping(const std::string& text) {
  v1::Mapping m;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &m)) << text;
  return m;
}

constexpr char kVehicleMapping[] = R"pb(
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
)pb";

std::string Citizen() {
  return *subject::MakeCitizenId(330106, absl::CivilDay(1985, 3, 4), 12);
}

Row VehicleRow() {
  Row row;
  row.columns = {{"身份证号", Citizen()},
                 {"号牌号码", "浙A12345"},
                 {"版本", "7"},
                 {"更新时间", "2026-01-02 03:04:05"},
                 {"操作", ""},
                 {"车辆识别代号", "LSVAU2180N2183294"},
                 {"车辆类型", "小型汽车"},
                 {"状态", "normal"},
                 {"注册日期", "2020年5月6日"},
                 {"排量", "1498"}};
  return row;
}

void SetColumn(Row* row, const std::string& name, const std::string& value) {
  for (auto& [k, v] : row->columns) {
    if (k == name) v = value;
  }
}

class MappingTest : public ::testing::Test {
 protected:
  std::unique_ptr<Mapper> Make(const std::string& text,
                               const std::string& dept) {
    auto m = Mapper::Create(ParseMapping(text), Catalog(), dept);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *std::move(m) : nullptr;
  }
};

TEST_F(MappingTest, MapsAVehicleRowWithLabelsDatesAndVersions) {
  auto mapper = Make(kVehicleMapping, "public_security");
  ASSERT_NE(mapper, nullptr);
  EXPECT_EQ(mapper->topic(), "dr.data.public_security.vehicle_registration");
  EXPECT_EQ(mapper->dlq_topic(), "dr.dlq.public_security");
  datarun::v1::Record record;
  RowRejection why;
  ASSERT_TRUE(mapper->Map(VehicleRow(), &record, &why)) << why.detail;
  EXPECT_EQ(record.subject().id(), Citizen());
  EXPECT_EQ(record.subject().kind(), datarun::v1::SUBJECT_KIND_CITIZEN);
  EXPECT_EQ(record.record_key(), "浙A12345");
  EXPECT_EQ(record.source_version(), 7u);
  EXPECT_EQ(record.op(), datarun::v1::Record::OP_UPSERT);
  EXPECT_EQ(record.source_department(), "public_security");
  // 03:04:05 China Standard Time is 19:04:05 UTC the day before.
  EXPECT_EQ(record.event_time().seconds(),
            absl::ToUnixSeconds(absl::FromCivil(
                absl::CivilSecond(2026, 1, 1, 19, 4, 5), absl::UTCTimeZone())));
  dep::VehicleRegistration v;
  ASSERT_TRUE(record.payload().UnpackTo(&v));
  EXPECT_EQ(v.plate_number(), "浙A12345");
  EXPECT_EQ(v.vehicle_type(), dep::VEHICLE_TYPE_SMALL_CAR);
  EXPECT_EQ(v.status(), dep::VEHICLE_STATUS_NORMAL);  // English suffix
  EXPECT_EQ(v.registration_date().year(), 2020);
  EXPECT_EQ(v.registration_date().month(), 5);
  EXPECT_EQ(v.registration_date().day(), 6);
  EXPECT_EQ(v.displacement_ml(), 1498);
}

TEST_F(MappingTest, DeleteCarriesNoPayload) {
  auto mapper = Make(kVehicleMapping, "public_security");
  Row row = VehicleRow();
  SetColumn(&row, "操作", "删除");
  datarun::v1::Record record;
  RowRejection why;
  ASSERT_TRUE(mapper->Map(row, &record, &why)) << why.detail;
  EXPECT_EQ(record.op(), datarun::v1::Record::OP_DELETE);
  EXPECT_FALSE(record.has_payload());
}

struct BadCase {
  std::string column;
  std::string value;
  std::string reason;
  std::string detail;
};

TEST_F(MappingTest, EveryKindOfBadValueIsRejectedWithItsReason) {
  auto mapper = Make(kVehicleMapping, "public_security");
  std::string bad_check = Citizen();
  bad_check.back() = bad_check.back() == '1' ? '2' : '1';
  const BadCase cases[] = {
      {"身份证号", bad_check, "bad_subject", "position 18"},
      {"身份证号", "", "missing_field", "subject id"},
      {"号牌号码", "", "missing_field", "record key"},
      {"车辆识别代号", "", "missing_field", "vin"},
      {"排量", "1.5L", "bad_type", "column '排量'"},
      {"注册日期", "2020-02-30", "bad_type", "a date"},
      {"车辆类型", "飞机", "unknown_enum",
       "datarun.v1.departments.VehicleType"},
      {"版本", "-3", "bad_type", "positive integer"},
      {"更新时间", "yesterday", "bad_type", "not a time"},
      {"操作", "MERGE", "bad_type", "neither UPSERT nor DELETE"},
  };
  for (const BadCase& c : cases) {
    Row row = VehicleRow();
    SetColumn(&row, c.column, c.value);
    datarun::v1::Record record;
    RowRejection why;
    EXPECT_FALSE(mapper->Map(row, &record, &why)) << c.column;
    EXPECT_EQ(why.reason, c.reason) << c.column << ": " << why.detail;
    EXPECT_THAT(why.detail, HasSubstr(c.detail)) << c.column;
  }
}

TEST_F(MappingTest, SourceErrorsPassThrough) {
  auto mapper = Make(kVehicleMapping, "public_security");
  Row row;
  row.source_error = "field 2: quote inside an unquoted field";
  row.source_error_reason = "bad_csv";
  datarun::v1::Record record;
  RowRejection why;
  EXPECT_FALSE(mapper->Map(row, &record, &why));
  EXPECT_EQ(why.reason, "bad_csv");
}

TEST_F(MappingTest, ScaledDecimalsAndBooleans) {
  auto mapper =
      Make(R"pb(
             data_class: "low_income_assistance"
             format: FORMAT_CSV
             subject_column: "id"
             event_time_column: "t"
             fields { column: "yuan" field: "monthly_amount_fen" scale: 2 }
             fields { column: "active" field: "active" }
             fields { column: "start" field: "start_date" }
           )pb",
           "civil_affairs");
  ASSERT_NE(mapper, nullptr);
  Row row;
  row.columns = {{"id", Citizen()},
                 {"t", "2026-01-02"},
                 {"yuan", "1234.5"},
                 {"active", "是"},
                 {"start", "20240101"}};
  datarun::v1::Record record;
  RowRejection why;
  ASSERT_TRUE(mapper->Map(row, &record, &why)) << why.detail;
  dep::LowIncomeAssistance p;
  ASSERT_TRUE(record.payload().UnpackTo(&p));
  EXPECT_EQ(p.monthly_amount_fen(), 123450);
  EXPECT_TRUE(p.active());
  EXPECT_EQ(p.start_date().year(), 2024);
  // Version from the event time when there is no version column.
  EXPECT_EQ(record.source_version(),
            static_cast<uint64_t>(record.event_time().seconds()) * 1000000);
  row.columns[2].second = "12.345";  // a third of a fen
  EXPECT_FALSE(mapper->Map(row, &record, &why));
  EXPECT_EQ(why.reason, "bad_type");
}

TEST(ScaledIntegerTest, Parses) {
  int64_t v;
  EXPECT_TRUE(ParseScaledInteger("-0.5", 2, &v));
  EXPECT_EQ(v, -50);
  EXPECT_TRUE(ParseScaledInteger("12.50", 1, &v));
  EXPECT_EQ(v, 125);
  EXPECT_TRUE(ParseScaledInteger("-9223372036854775808", 0, &v));
  EXPECT_FALSE(ParseScaledInteger("9223372036854775808", 0, &v));
  EXPECT_FALSE(ParseScaledInteger("1e3", 0, &v));
  EXPECT_FALSE(ParseScaledInteger(".", 0, &v));
}

TEST_F(MappingTest, CanonicalJsonLinesFromTheGenerator) {
  auto mapper = Make(R"pb(data_class: "vehicle_registration"
                          format: FORMAT_CANONICAL_JSONL)pb",
                     "public_security");
  ASSERT_NE(mapper, nullptr);
  Row row;
  row.raw = R"({"subject_id": ")" + Citizen() +
            R"(", "record_key": "浙B1", "source_version": 3, "op": "UPSERT",)"
            R"( "event_time": "2026-01-02T03:04:05Z", "payload": {)"
            R"("plateNumber": "浙B1", "vehicleType": "VEHICLE_TYPE_TRUCK",)"
            R"( "registrationDate": {"year": 2021, "month": 2, "day": 3}}})";
  datarun::v1::Record record;
  RowRejection why;
  ASSERT_TRUE(mapper->Map(row, &record, &why)) << why.detail;
  EXPECT_EQ(record.source_version(), 3u);
  dep::VehicleRegistration v;
  ASSERT_TRUE(record.payload().UnpackTo(&v));
  EXPECT_EQ(v.vehicle_type(), dep::VEHICLE_TYPE_TRUCK);
  EXPECT_EQ(v.registration_date().month(), 2);

  Row bad = row;
  bad.raw.replace(bad.raw.find("VEHICLE_TYPE_TRUCK"), 18, "VEHICLE_TYPE_UFO");
  EXPECT_FALSE(mapper->Map(bad, &record, &why));
  EXPECT_EQ(why.reason, "unknown_enum") << why.detail;
  bad = row;
  bad.raw.replace(bad.raw.find("plateNumber"), 11, "plateNumbr");
  EXPECT_FALSE(mapper->Map(bad, &record, &why));
  EXPECT_EQ(why.reason, "bad_type") << why.detail;
  bad.raw = "{not json";
  EXPECT_FALSE(mapper->Map(bad, &record, &why));
  EXPECT_EQ(why.reason, "bad_json");
}

TEST_F(MappingTest, CreateRejectsBadMappings) {
  auto not_source =
      Mapper::Create(ParseMapping(kVehicleMapping), Catalog(), "civil_affairs");
  EXPECT_EQ(not_source.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(not_source.status().message()),
              HasSubstr("not the authoritative source"));
  struct {
    std::string extra;
    std::string message;
  } cases[] = {
      {R"pb(fields { column: "c" field: "no_such" })pb",
       "has no field 'no_such'"},
      {R"pb(fields { column: "c" field: "vin" scale: 2 })pb",
       "only for integer"},
      {R"pb(fields {
              column: "c"
              field: "status"
              labels { label: "x" value: "NOPE" }
            })pb",
       "not a value of"},
      {R"pb(fields { column: "c" field: "registration_date.year.x" })pb",
       "not a message"},
  };
  for (const auto& c : cases) {
    auto m =
        Mapper::Create(ParseMapping(std::string(kVehicleMapping) + c.extra),
                       Catalog(), "public_security");
    ASSERT_FALSE(m.ok()) << c.extra;
    EXPECT_THAT(std::string(m.status().message()), HasSubstr(c.message));
  }
  auto no_key = Mapper::Create(ParseMapping(R"pb(
                                 data_class: "vehicle_registration"
                                 format: FORMAT_CSV
                                 subject_column: "id"
                                 version_column: "v")pb"),
                               Catalog(), "public_security");
  EXPECT_THAT(std::string(no_key.status().message()),
              HasSubstr("record_key_column is required"));
}

// ParseDate's YYYY-MM-DD fast path against absl::CivilDay's normalisation,
// over four centuries' worth of real and impossible dates (month 0..13, day
// 0..32, leap years with the 100/400 rules).
TEST(ParseDateTest, IsoDatesAgreeWithCivilDay) {
  int checked = 0;
  for (int y : {1899, 1900, 1999, 2000, 2019, 2020, 2023, 2024, 2100, 2400}) {
    for (int m = 0; m <= 13; ++m) {
      for (int d = 0; d <= 32; ++d) {
        const std::string text = absl::StrFormat("%04d-%02d-%02d", y, m, d);
        const absl::CivilDay civil(y, m, d);
        const bool exists =
            civil.year() == y && civil.month() == m && civil.day() == d;
        int py = 0, pm = 0, pd = 0;
        EXPECT_EQ(ParseDate(text, &py, &pm, &pd), exists) << text;
        if (exists) {
          EXPECT_EQ(py, y);
          EXPECT_EQ(pm, m);
          EXPECT_EQ(pd, d);
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 10 * 14 * 33);
  int y, m, d;
  EXPECT_FALSE(ParseDate("2020-0a-01", &y, &m, &d));
  EXPECT_FALSE(ParseDate("2020-02_01", &y, &m, &d));
  EXPECT_TRUE(ParseDate(" 2020-02-29 ", &y, &m, &d));
  EXPECT_TRUE(ParseDate("2020-2-9", &y, &m, &d));  // the general parser
  EXPECT_EQ(d, 9);
}

}  // namespace
}  // namespace datarun::connectors
