#include "exchange/catalog/catalog.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/seal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::catalog {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kShipped[] = "exchange/catalog/zhejiang.textproto";

// A small valid catalog; tests break one thing in it at a time. Line numbers
// matter: the tests below refer to them.
constexpr char kMinimal[] = R"txt(version: "test.1"
departments { id: "public_security" name: "公安局" }
departments { id: "civil_affairs" name: "民政局" }
data_classes {
  id: "household_registration"
  name: "户籍信息"
  payload_type: "datarun.v1.departments.HouseholdRegistration"
  source_department: "public_security"
  subject_kind: SUBJECT_KIND_CITIZEN
  field_sensitivities { field: "address" sensitivity: SENSITIVITY_SENSITIVE }
}
data_classes {
  id: "marriage_registration"
  name: "婚姻登记信息"
  payload_type: "datarun.v1.departments.MarriageRegistration"
  source_department: "civil_affairs"
  subject_kind: SUBJECT_KIND_CITIZEN
}
matters {
  id: "pension_registration"
  name: "城乡居民养老保险参保登记"
  owning_department: "civil_affairs"
  data_classes: "household_registration"
  required_assurance: IDENTITY_ASSURANCE_CARD
}
)txt";

std::string WriteTemp(absl::string_view name, absl::string_view text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

// Loads kMinimal with `from` replaced by `to` (which must occur).
absl::StatusOr<datarun::v1::Catalog> LoadEdited(absl::string_view name,
                                                absl::string_view from,
                                                absl::string_view to) {
  std::string text(kMinimal);
  EXPECT_NE(text.find(std::string(from)), std::string::npos) << from;
  text = absl::StrReplaceAll(text, {{from, to}});
  return LoadCatalog(WriteTemp(name, text));
}

TEST(LoadCatalogTest, MinimalCatalogLoads) {
  auto catalog = LoadCatalog(WriteTemp("minimal.textproto", kMinimal));
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  EXPECT_EQ(catalog->version(), "test.1");
  EXPECT_EQ(catalog->data_classes_size(), 2);
}

TEST(LoadCatalogTest, ShippedCatalogLoadsAndIndexes) {
  auto catalog = LoadCatalog(kShipped);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  EXPECT_GE(catalog->departments_size(), 13);
  EXPECT_GE(catalog->data_classes_size(), 38);

  auto index = CatalogIndex::Create(*catalog);
  ASSERT_TRUE(index.ok()) << index.status();
  const auto& idx = **index;
  const auto* hr = idx.FindDataClass("household_registration");
  ASSERT_NE(hr, nullptr);
  EXPECT_EQ(hr->source_department(), "public_security");
  EXPECT_EQ(hr->name(), "户籍信息");
  ASSERT_NE(idx.FindDepartment("public_security"), nullptr);
  EXPECT_EQ(idx.FindDepartment("public_security")->name(), "公安局");
  EXPECT_EQ(idx.FindDataClassByTopic(
                "dr.data.public_security.household_registration"),
            hr);
  // The department part must be the authoritative source.
  EXPECT_EQ(
      idx.FindDataClassByTopic("dr.data.civil_affairs.household_registration"),
      nullptr);
  EXPECT_EQ(idx.FindDataClass("no_such_class"), nullptr);
  ASSERT_NE(idx.PayloadDescriptor("household_registration"), nullptr);
  EXPECT_EQ(idx.PayloadDescriptor("household_registration")->full_name(),
            "datarun.v1.departments.HouseholdRegistration");

  // Every class resolves both ways, and consent/delegation are present.
  std::vector<std::string> topics = idx.DataTopics();
  ASSERT_EQ(topics.size(), static_cast<size_t>(catalog->data_classes_size()));
  for (const auto& c : catalog->data_classes()) {
    EXPECT_EQ(idx.FindDataClassByTopic(DataTopicFor(c)),
              idx.FindDataClass(c.id()));
    EXPECT_NE(idx.PayloadDescriptor(c.id()), nullptr) << c.id();
  }
  EXPECT_EQ(
      idx.FieldSensitivity("criminal_record_status", "has_criminal_record"),
      datarun::v1::SENSITIVITY_SECRET);
  EXPECT_EQ(idx.FieldSensitivity("household_registration", "address"),
            datarun::v1::SENSITIVITY_SENSITIVE);
  // Not listed: internal by default.
  EXPECT_EQ(idx.FieldSensitivity("household_registration", "household_number"),
            datarun::v1::SENSITIVITY_INTERNAL);
  EXPECT_EQ(idx.FieldSensitivity("household_registration", "no_such_field"),
            datarun::v1::SENSITIVITY_UNSPECIFIED);
  EXPECT_EQ(idx.FieldSensitivity("no_such_class", "address"),
            datarun::v1::SENSITIVITY_UNSPECIFIED);

  std::vector<const datarun::v1::DataClass*> from_ps =
      idx.ClassesFromDepartment("public_security");
  EXPECT_GE(from_ps.size(), 5u);
  size_t total = 0;
  for (const auto& d : catalog->departments()) {
    for (const auto* c : idx.ClassesFromDepartment(d.id())) {
      EXPECT_EQ(c->source_department(), d.id());
      ++total;
    }
  }
  // Every class is reachable from exactly one department.
  EXPECT_EQ(total, static_cast<size_t>(catalog->data_classes_size()));
  EXPECT_TRUE(idx.ClassesFromDepartment("nobody").empty());
  EXPECT_NE(idx.FindDataClass("consent_grant"), nullptr);
  EXPECT_NE(idx.FindDataClass("delegation"), nullptr);
  ASSERT_GE(idx.catalog().matters_size(), 1);
  for (const auto& m : idx.catalog().matters()) {
    EXPECT_EQ(idx.FindMatter(m.id()), &m);
  }
  EXPECT_EQ(idx.FindMatter("no_such_matter"), nullptr);
}

TEST(CatalogIndexTest, ConcurrentReadsSeeTheSameAnswers) {
  auto catalog = LoadCatalog(kShipped);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  auto index = CatalogIndex::Create(*catalog);
  ASSERT_TRUE(index.ok()) << index.status();
  const CatalogIndex& idx = **index;
  std::vector<std::string> topics = idx.DataTopics();
  std::vector<int> misses(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 2000; ++round) {
        const std::string& topic = topics[(round + t) % topics.size()];
        const auto* c = idx.FindDataClassByTopic(topic);
        if (c == nullptr || DataTopicFor(*c) != topic ||
            idx.FindDataClass(c->id()) != c) {
          ++misses[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : misses) EXPECT_EQ(m, 0);
}

TEST(LoadCatalogTest, DuplicateDepartmentIdNamesLine) {
  auto c = LoadEdited("dup.textproto", R"(id: "civil_affairs")",
                      R"(id: "public_security")");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("dup.textproto:3: "),
                    HasSubstr("department \"public_security\""),
                    HasSubstr("duplicate department id")));
}

TEST(LoadCatalogTest, DuplicateDataClassId) {
  auto c = LoadEdited("dupclass.textproto", R"(id: "marriage_registration")",
                      R"(id: "household_registration")");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("dupclass.textproto:13: "),
                    HasSubstr("duplicate data class id")));
}

TEST(LoadCatalogTest, UnknownSourceDepartment) {
  auto c = LoadEdited("unknowndept.textproto",
                      R"(source_department: "civil_affairs")",
                      R"(source_department: "ministry_of_magic")");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("unknowndept.textproto:16: "),
                    HasSubstr("data class \"marriage_registration\""),
                    HasSubstr("source_department \"ministry_of_magic\" is not "
                              "a department of the catalog")));
}

TEST(LoadCatalogTest, MissingSourceDepartment) {
  auto c = LoadEdited("nosource.textproto",
                      R"(source_department: "civil_affairs")", "");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("nosource.textproto:12: "),
                    HasSubstr("exactly one authoritative source")));
}

TEST(LoadCatalogTest, UnknownPayloadType) {
  auto c = LoadEdited("unknowntype.textproto",
                      "datarun.v1.departments.MarriageRegistration",
                      "datarun.v1.departments.MarriageRegistrashun");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("unknowntype.textproto:15: "),
                    HasSubstr("data class \"marriage_registration\""),
                    HasSubstr("payload_type "
                              "\"datarun.v1.departments.MarriageRegistrashun\" "
                              "is not a message type linked")));
}

TEST(LoadCatalogTest, PayloadTypeSharedByTwoClasses) {
  auto c = LoadEdited("shared.textproto",
                      "datarun.v1.departments.MarriageRegistration",
                      "datarun.v1.departments.HouseholdRegistration");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("shared.textproto:15: "),
                    HasSubstr("data class \"marriage_registration\""),
                    HasSubstr("is already the payload of data class "
                              "\"household_registration\"")));
}

TEST(LoadCatalogTest, UnknownSensitivityField) {
  auto c = LoadEdited("unknownfield.textproto", R"(field: "address")",
                      R"(field: "adress")");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("unknownfield.textproto:10: "),
                    HasSubstr("data class \"household_registration\""),
                    HasSubstr("field \"adress\" which "
                              "datarun.v1.departments.HouseholdRegistration "
                              "does not have")));
}

TEST(LoadCatalogTest, SyntaxErrorReportsLineAndColumn) {
  auto c = LoadEdited("syntax.textproto", R"(name: "婚姻登记信息")",
                      R"(name "婚姻登记信息)");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  // Line 14, after the field name.
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("syntax.textproto:14:"));
}

TEST(LoadCatalogTest, UnknownFieldNameInTextIsASyntaxError) {
  auto c = LoadEdited("badfield.textproto",
                      "subject_kind: SUBJECT_KIND_CITIZEN\n}\nmatters",
                      "subject_knd: SUBJECT_KIND_CITIZEN\n}\nmatters");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(
      std::string(c.status().message()),
      AllOf(HasSubstr("badfield.textproto:17:"), HasSubstr("subject_knd")));
}

TEST(LoadCatalogTest, MatterReferencingUnknownClass) {
  auto c = LoadEdited("matter.textproto",
                      R"(data_classes: "household_registration")",
                      R"(data_classes: "household_registraton")");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("matter.textproto:23: "),
                    HasSubstr("matter \"pension_registration\""),
                    HasSubstr("data class \"household_registraton\" is not a "
                              "data class of the catalog")));
}

TEST(LoadCatalogTest, AgreementFieldsAndMatterAreChecked) {
  std::string text = absl::StrCat(kMinimal, R"txt(sharing_agreements {
  id: "hrss_pension"
  consumer_department: "civil_affairs"
  matter: "pension_registration"
  classes { data_class: "household_registration" fields: "address" fields: "hukou" }
  classes { data_class: "marriage_registration" fields: "status" }
}
)txt");
  auto c = LoadCatalog(WriteTemp("agreement.textproto", text));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(
      std::string(c.status().message()),
      AllOf(HasSubstr("2 catalog errors"),
            HasSubstr("agreement.textproto:30: sharing agreement "
                      "\"hrss_pension\": field \"hukou\" is not a field "
                      "of class \"household_registration\""),
            HasSubstr("agreement.textproto:31: sharing agreement "
                      "\"hrss_pension\": data class "
                      "\"marriage_registration\" is not needed by "
                      "matter \"pension_registration\"")));
}

TEST(LoadCatalogTest, TemplatePlaceholdersAndPredicateParametersAreChecked) {
  std::string text = absl::StrCat(kMinimal, R"txt(certificate_templates {
  id: "household_proof"
  title: "户籍证明"
  issuer_department: "public_security"
  sources { data_class: "household_registration" fields: "name" fields: "address" }
  text_template: "兹证明{name}（{subject_id}）户籍地址为{adress}。"
  validity { seconds: 2592000 }
}
verification_predicates {
  id: "registered_in_city"
  description: "户籍在指定城市"
  data_classes: "household_registration"
  conditions {
    data_class: "household_registration"
    field: "address.region_code"
    op: CONDITION_OP_PREFIX
    parameter: "city_code"
  }
  no_record_result: NO_RECORD_RESULT_FALSE
}
)txt");
  auto c = LoadCatalog(WriteTemp("template.textproto", text));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              AllOf(HasSubstr("template.textproto:31: certificate template "
                              "\"household_proof\": placeholder {adress}"),
                    HasSubstr("template.textproto:38: verification predicate "
                              "\"registered_in_city\": condition uses "
                              "parameter \"city_code\" which the predicate "
                              "does not declare")));

  // Fixed, both load: nested field paths resolve.
  text = absl::StrReplaceAll(
      text, {{"{adress}", "{address}"},
             {"no_record_result:",
              "parameters { name: \"city_code\" required: true }\n  "
              "no_record_result:"}});
  auto fixed = LoadCatalog(WriteTemp("template_fixed.textproto", text));
  EXPECT_TRUE(fixed.ok()) << fixed.status();
}

TEST(LoadCatalogTest, MissingFileIsNotFound) {
  auto c = LoadCatalog("/nonexistent/catalog.textproto");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("/nonexistent/catalog.textproto"));
}

TEST(LoadCatalogTest, DirectoryAndEmptyFileAreClearErrors) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = tmp != nullptr ? tmp : "/tmp";
  auto c = LoadCatalog(dir);
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr(absl::StrCat(dir, ": is a directory")));
  c = LoadCatalog(WriteTemp("empty.textproto", ""));
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              HasSubstr("empty.textproto: catalog: version is empty"));
}

TEST(ValidateCatalogTest, BuiltInCodeWithoutLines) {
  datarun::v1::Catalog catalog;
  catalog.set_version("x");
  auto* d = catalog.add_departments();
  d->set_id("Public-Security");
  d->set_name("公安局");
  absl::Status s = ValidateCatalog(catalog, "in-memory");
  EXPECT_THAT(std::string(s.message()),
              AllOf(HasSubstr("in-memory: department #1 "
                              "\"Public-Security\": id must be"),
                    HasSubstr("[a-z0-9_]")));
  auto index = CatalogIndex::Create(catalog);
  EXPECT_FALSE(index.ok());
}

TEST(ValidateCatalogTest, SealKeysAreParsedAndMatchTheirAlgorithm) {
  auto catalog = LoadCatalog(WriteTemp("minimal2.textproto", kMinimal));
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  const char* tmp = std::getenv("TEST_TMPDIR");
  seal::KeyStore store(absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/keys"));
  auto sm2 =
      store.Generate("public_security", "ps-sm2", seal::SealAlgorithm::kSm2Sm3);
  ASSERT_TRUE(sm2.ok()) << sm2.status();
  auto ed =
      store.Generate("public_security", "ps-ed", seal::SealAlgorithm::kEd25519);
  ASSERT_TRUE(ed.ok()) << ed.status();

  auto* d = catalog->mutable_departments(0);
  auto* key = d->add_seal_keys();
  key->set_key_id("ps-sm2");
  key->set_algorithm(datarun::v1::SEAL_ALGORITHM_SM2_SM3);
  key->set_public_key_pem(sm2->public_pem);
  auto* key2 = d->add_seal_keys();
  key2->set_key_id("ps-ed");
  key2->set_algorithm(datarun::v1::SEAL_ALGORITHM_ED25519);
  key2->set_public_key_pem(ed->public_pem);
  EXPECT_TRUE(ValidateCatalog(*catalog, "c").ok())
      << ValidateCatalog(*catalog, "c");

  // An SM2 key declared as Ed25519.
  key->set_algorithm(datarun::v1::SEAL_ALGORITHM_ED25519);
  EXPECT_THAT(std::string(ValidateCatalog(*catalog, "c").message()),
              AllOf(HasSubstr("department \"public_security\" seal key "
                              "\"ps-sm2\": public_key_pem: "),
                    HasSubstr("sm2 key but ed25519 was declared")));
  key->set_algorithm(datarun::v1::SEAL_ALGORITHM_SM2_SM3);

  // A truncated PEM.
  key->set_public_key_pem(sm2->public_pem.substr(0, 60));
  EXPECT_THAT(std::string(ValidateCatalog(*catalog, "c").message()),
              HasSubstr("seal key \"ps-sm2\": public_key_pem: "));
  key->set_public_key_pem(sm2->public_pem);

  key2->set_algorithm(datarun::v1::SEAL_ALGORITHM_UNSPECIFIED);
  EXPECT_THAT(std::string(ValidateCatalog(*catalog, "c").message()),
              HasSubstr("seal key \"ps-ed\": algorithm is not set"));
  key2->set_algorithm(datarun::v1::SEAL_ALGORITHM_ED25519);

  key2->set_key_id("ps-sm2");
  EXPECT_THAT(std::string(ValidateCatalog(*catalog, "c").message()),
              HasSubstr("duplicate key_id in the department"));
  key2->set_key_id("ps-ed");

  key->mutable_valid_from()->set_seconds(200);
  key->mutable_valid_until()->set_seconds(100);
  EXPECT_THAT(std::string(ValidateCatalog(*catalog, "c").message()),
              HasSubstr("valid_until is not after valid_from"));
}

}  // namespace
}  // namespace datarun::catalog
