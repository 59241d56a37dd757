// Checks the department payload package against itself and against the
// shipped catalog: one file per department, every payload a real typed
// message, and every payload surviving an Any round trip through reflection.
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "exchange/catalog/catalog.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor_database.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/payloads.h"

namespace datarun::departments {
namespace {

namespace pb = ::google::protobuf;

constexpr char kPackage[] = "datarun.v1.departments";
constexpr char kDir[] = "proto/datarun/v1/departments/";
constexpr char kCommonFile[] = "proto/datarun/v1/departments/common.proto";
constexpr char kShippedCatalog[] = "exchange/catalog/zhejiang.textproto";

// The department files of the package, found by walking the generated
// descriptor database (every linked .proto registers itself there).
std::vector<const pb::FileDescriptor*> DepartmentFiles() {
  AllPayloadDescriptors();  // Make sure every file is linked in.
  std::vector<std::string> names;
  EXPECT_TRUE(
      pb::DescriptorPool::internal_generated_database()->FindAllFileNames(
          &names));
  std::vector<const pb::FileDescriptor*> files;
  for (const std::string& name : names) {
    if (!absl::StartsWith(name, kDir) || name == kCommonFile) continue;
    const pb::FileDescriptor* file =
        pb::DescriptorPool::generated_pool()->FindFileByName(name);
    EXPECT_NE(file, nullptr) << name;
    if (file != nullptr) files.push_back(file);
  }
  return files;
}

datarun::v1::Catalog ShippedCatalog() {
  auto catalog = datarun::catalog::LoadCatalog(kShippedCatalog);
  EXPECT_TRUE(catalog.ok()) << catalog.status();
  return catalog.ok() ? *std::move(catalog) : datarun::v1::Catalog();
}

TEST(DepartmentsTest, OneFilePerCatalogDepartment) {
  datarun::v1::Catalog catalog = ShippedCatalog();
  absl::flat_hash_set<std::string> department_ids;
  for (const auto& d : catalog.departments()) department_ids.insert(d.id());

  std::vector<const pb::FileDescriptor*> files = DepartmentFiles();
  EXPECT_GE(files.size(), 13u);
  for (const pb::FileDescriptor* file : files) {
    EXPECT_EQ(file->package(), kPackage) << file->name();
    // departments/<department id>.proto
    std::string id(
        absl::StripSuffix(absl::StripPrefix(file->name(), kDir), ".proto"));
    EXPECT_TRUE(department_ids.contains(id))
        << file->name() << " is not named after a catalog department";
    EXPECT_GE(file->message_type_count(), 1) << file->name();
  }
}

TEST(DepartmentsTest, PayloadsAreExactlyTheCatalogsPayloadTypes) {
  datarun::v1::Catalog catalog = ShippedCatalog();
  absl::flat_hash_set<std::string> catalog_types;
  for (const auto& c : catalog.data_classes()) {
    catalog_types.insert(c.payload_type());
    const pb::Descriptor* d =
        pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
            c.payload_type());
    ASSERT_NE(d, nullptr) << c.payload_type();
    // The payload lives in the file of its authoritative source.
    EXPECT_EQ(d->file()->name(),
              absl::StrCat(kDir, c.source_department(), ".proto"))
        << c.id();
  }
  EXPECT_GE(catalog_types.size(), 38u);
  EXPECT_TRUE(catalog_types.contains("datarun.v1.departments.ConsentGrant"));
  EXPECT_TRUE(catalog_types.contains("datarun.v1.departments.Delegation"));

  absl::flat_hash_set<std::string> listed;
  for (const pb::Descriptor* d : AllPayloadDescriptors()) {
    listed.insert(d->full_name());
  }
  EXPECT_EQ(listed, catalog_types);

  // Every top-level message of a department file is a payload or a part of
  // one: no orphans that no class publishes.
  absl::flat_hash_set<std::string> parts;
  for (const pb::Descriptor* d : AllPayloadDescriptors()) {
    for (int i = 0; i < d->field_count(); ++i) {
      if (d->field(i)->message_type() != nullptr) {
        parts.insert(d->field(i)->message_type()->full_name());
      }
    }
  }
  for (const pb::FileDescriptor* file : DepartmentFiles()) {
    for (int i = 0; i < file->message_type_count(); ++i) {
      const std::string& name = file->message_type(i)->full_name();
      EXPECT_TRUE(catalog_types.contains(name) || parts.contains(name))
          << name << " is neither a catalog payload nor used by one";
    }
  }
}

TEST(DepartmentsTest, NoPayloadIsAStringBag) {
  for (const pb::Descriptor* d : AllPayloadDescriptors()) {
    EXPECT_GE(d->field_count(), 3) << d->full_name();
    int typed = 0;
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      EXPECT_FALSE(f->is_map()) << f->full_name();
      if (f->type() != pb::FieldDescriptor::TYPE_STRING &&
          f->type() != pb::FieldDescriptor::TYPE_BYTES) {
        ++typed;
      }
    }
    // At least a third of the fields carry a type other than text.
    EXPECT_GE(typed * 3, d->field_count())
        << d->full_name() << " is mostly strings";
  }
}

// Sets every field of `m` (two elements for repeated fields), recursing into
// sub-messages, with values derived from the field number so a swapped or
// dropped field shows up as a difference.
void Fill(pb::Message* m, int depth) {
  const pb::Reflection* r = m->GetReflection();
  const pb::Descriptor* d = m->GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const int n = f->number() + depth * 100;
    for (int k = 0; k < (f->is_repeated() ? 2 : 1); ++k) {
      const bool rep = f->is_repeated();
      switch (f->cpp_type()) {
        case pb::FieldDescriptor::CPPTYPE_INT32:
          rep ? r->AddInt32(m, f, n + k) : r->SetInt32(m, f, n);
          break;
        case pb::FieldDescriptor::CPPTYPE_INT64:
          rep ? r->AddInt64(m, f, 1'000'000'000'000LL + n + k)
              : r->SetInt64(m, f, 1'000'000'000'000LL + n);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT32:
          rep ? r->AddUInt32(m, f, n + k) : r->SetUInt32(m, f, n);
          break;
        case pb::FieldDescriptor::CPPTYPE_UINT64:
          rep ? r->AddUInt64(m, f, n + k) : r->SetUInt64(m, f, n);
          break;
        case pb::FieldDescriptor::CPPTYPE_DOUBLE:
          rep ? r->AddDouble(m, f, n + 0.5) : r->SetDouble(m, f, n + 0.5);
          break;
        case pb::FieldDescriptor::CPPTYPE_FLOAT:
          rep ? r->AddFloat(m, f, n + 0.5f) : r->SetFloat(m, f, n + 0.5f);
          break;
        case pb::FieldDescriptor::CPPTYPE_BOOL:
          rep ? r->AddBool(m, f, true) : r->SetBool(m, f, true);
          break;
        case pb::FieldDescriptor::CPPTYPE_ENUM: {
          const pb::EnumDescriptor* e = f->enum_type();
          const pb::EnumValueDescriptor* v = e->value(e->value_count() - 1);
          rep ? r->AddEnum(m, f, v) : r->SetEnum(m, f, v);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_STRING: {
          std::string s = absl::StrCat("值-", f->name(), "-", k);
          rep ? r->AddString(m, f, s) : r->SetString(m, f, s);
          break;
        }
        case pb::FieldDescriptor::CPPTYPE_MESSAGE:
          if (depth < 4) {
            Fill(rep ? r->AddMessage(m, f) : r->MutableMessage(m, f),
                 depth + 1);
          }
          break;
      }
    }
  }
}

TEST(DepartmentsTest, EveryPayloadRoundTripsThroughAny) {
  pb::DynamicMessageFactory dynamic_factory;
  const auto& payloads = AllPayloadDescriptors();
  ASSERT_GE(payloads.size(), 38u);
  for (size_t p = 0; p < payloads.size(); ++p) {
    const pb::Descriptor* d = payloads[p];
    SCOPED_TRACE(d->full_name());
    std::unique_ptr<pb::Message> filled(dynamic_factory.GetPrototype(d)->New());
    Fill(filled.get(), 0);
    // Every field is set, so nothing was skipped by the filler.
    std::vector<const pb::FieldDescriptor*> set;
    filled->GetReflection()->ListFields(*filled, &set);
    EXPECT_EQ(static_cast<int>(set.size()), d->field_count());

    pb::Any any;
    ASSERT_TRUE(any.PackFrom(*filled));
    EXPECT_EQ(any.type_url(),
              absl::StrCat("type.googleapis.com/", d->full_name()));
    // Through the wire, as a Record's payload travels.
    pb::Any received;
    ASSERT_TRUE(received.ParseFromString(any.SerializeAsString()));

    // Into the generated class...
    std::unique_ptr<pb::Message> generated(
        pb::MessageFactory::generated_factory()->GetPrototype(d)->New());
    ASSERT_TRUE(received.UnpackTo(generated.get()));
    EXPECT_TRUE(pb::util::MessageDifferencer::Equals(*filled, *generated))
        << generated->DebugString();
    // ...and into a fresh dynamic message.
    std::unique_ptr<pb::Message> dynamic(
        dynamic_factory.GetPrototype(d)->New());
    ASSERT_TRUE(received.UnpackTo(dynamic.get()));
    EXPECT_TRUE(pb::util::MessageDifferencer::Equals(*filled, *dynamic));

    // An Any of one payload type does not unpack as another.
    const pb::Descriptor* other = payloads[(p + 1) % payloads.size()];
    std::unique_ptr<pb::Message> wrong(
        dynamic_factory.GetPrototype(other)->New());
    EXPECT_FALSE(received.UnpackTo(wrong.get()));
  }
}

}  // namespace
}  // namespace datarun::departments
