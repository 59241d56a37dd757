#include "exchange/ingest/testing/test_data.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"

namespace datarun::ingest::testing {
namespace {

constexpr int kWeights[17] = {7, 9, 10, 5,  8, 4, 2, 1, 6,
                              3, 7, 9,  10, 5, 8, 4, 2};
constexpr char kCheck[] = "10X98765432";

char CheckChar(absl::string_view first17) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheck[sum % 11];
}

}  // namespace

datarun::v1::Catalog TestCatalog(int departments, int classes_per_dept) {
  datarun::v1::Catalog catalog;
  catalog.set_version("test-1");
  for (int d = 0; d < departments; ++d) {
    auto* dept = catalog.add_departments();
    dept->set_id(absl::StrFormat("dept%02d", d));
    dept->set_name(absl::StrFormat("部门%02d", d));
    for (int k = 0; k < classes_per_dept; ++k) {
      auto* c = catalog.add_data_classes();
      c->set_id(absl::StrFormat("dept%02d_class%d", d, k));
      c->set_name(c->id());
      c->set_payload_type(absl::StrCat("test.Payload.", c->id()));
      c->set_source_department(dept->id());
      c->set_subject_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
      c->set_multi_record(k % 2 == 1);
    }
  }
  return catalog;
}

std::string CitizenId(uint64_t n) {
  absl::CivilDay birth = absl::CivilDay(1950, 1, 1) + (n / 1000) % 20000;
  std::string id = absl::StrFormat("330106%04d%02d%02d%03d", birth.year(),
                                   birth.month(), birth.day(), n % 1000);
  id.push_back(CheckChar(id));
  return id;
}

absl::Status CheckCitizenId(datarun::v1::SubjectKind kind,
                            absl::string_view id) {
  if (kind != datarun::v1::SUBJECT_KIND_CITIZEN) {
    return absl::InvalidArgumentError("only citizen ids in tests");
  }
  if (id.size() != 18) {
    return absl::InvalidArgumentError(
        absl::StrCat("resident id has ", id.size(), " characters, not 18"));
  }
  for (int i = 0; i < 17; ++i) {
    if (id[i] < '0' || id[i] > '9') {
      return absl::InvalidArgumentError(
          absl::StrCat("resident id position ", i + 1, " is not a digit"));
    }
  }
  if (id[17] != CheckChar(id)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resident id position 18: check character '", std::string(1, id[17]),
        "' should be '", std::string(1, CheckChar(id)), "'"));
  }
  return absl::OkStatus();
}

std::string DataTopic(absl::string_view dept, absl::string_view data_class) {
  return absl::StrCat("dr.data.", dept, ".", data_class);
}

datarun::v1::Record MakeRecord(absl::string_view dept,
                               absl::string_view data_class,
                               absl::string_view subject,
                               absl::string_view record_key, uint64_t version,
                               bool del, size_t payload_bytes) {
  datarun::v1::Record r;
  r.mutable_subject()->set_kind(datarun::v1::SUBJECT_KIND_CITIZEN);
  r.mutable_subject()->set_id(std::string(subject));
  r.set_data_class(std::string(data_class));
  r.set_source_department(std::string(dept));
  r.set_record_key(std::string(record_key));
  r.set_source_version(version);
  r.set_op(del ? datarun::v1::Record::OP_DELETE
               : datarun::v1::Record::OP_UPSERT);
  r.mutable_event_time()->set_seconds(1764000000 + version);
  r.set_trace_id(absl::StrCat(subject, "/", record_key, "/", version));
  if (!del) {
    r.mutable_payload()->set_type_url(
        absl::StrCat("type.googleapis.com/test.Payload.", data_class));
    std::string value;
    value.reserve(payload_bytes);
    uint64_t x = std::hash<std::string>()(r.trace_id()) | 1;
    while (value.size() < payload_bytes) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      value.push_back(static_cast<char>('a' + x % 26));
    }
    r.mutable_payload()->set_value(std::move(value));
  }
  return r;
}

}  // namespace datarun::ingest::testing
