#include "exchange/catalog/catalog.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "exchange/catalog/catalog_check.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace datarun::catalog {
namespace {

namespace pb = ::google::protobuf;
using ::datarun::v1::Catalog;
using ::datarun::v1::DataClass;

// Collects protoc-style "file:line:column: message" parse errors.
class CollectingErrorCollector : public pb::io::ErrorCollector {
 public:
  explicit CollectingErrorCollector(absl::string_view source)
      : source_(source) {}

  void AddError(int line, int column, const std::string& message) override {
    if (errors_.size() < internal::kMaxErrors) {
      // The tokenizer counts from 0; editors count from 1.
      errors_.push_back(
          absl::StrCat(source_, ":", line + 1, ":", column + 1, ": ", message));
    }
  }
  void AddWarning(int, int, const std::string&) override {}

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

std::string SensitivityKey(absl::string_view class_id,
                           absl::string_view field) {
  return absl::StrCat(class_id, absl::string_view("\0", 1), field);
}

}  // namespace

absl::StatusOr<Catalog> ParseCatalog(absl::string_view text,
                                     absl::string_view source_name) {
  Catalog catalog;
  pb::TextFormat::ParseInfoTree tree;
  CollectingErrorCollector collector(source_name);
  pb::TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(&tree);
  if (!parser.ParseFromString(std::string(text), &catalog)) {
    if (collector.errors().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_name, ": not a valid datarun.v1.Catalog"));
    }
    return absl::InvalidArgumentError(absl::StrJoin(collector.errors(), "\n"));
  }
  RETURN_IF_ERROR(internal::CheckCatalog(catalog, source_name, &tree));
  return catalog;
}

absl::StatusOr<Catalog> LoadCatalog(absl::string_view path) {
  std::error_code ec;
  if (std::filesystem::is_directory(std::string(path), ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": is a directory, not a catalog file"));
  }
  std::ifstream in{std::string(path), std::ios::binary};
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open catalog file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(path, ": read error"));
  }
  return ParseCatalog(text.str(), path);
}

absl::Status ValidateCatalog(const Catalog& catalog,
                             absl::string_view source_name) {
  return internal::CheckCatalog(catalog, source_name, nullptr);
}

std::string DataTopicFor(const DataClass& data_class) {
  return absl::StrCat(kDataTopicPrefix, data_class.source_department(), ".",
                      data_class.id());
}

absl::StatusOr<std::unique_ptr<const CatalogIndex>> CatalogIndex::Create(
    Catalog catalog) {
  RETURN_IF_ERROR(ValidateCatalog(catalog, "catalog"));
  auto index = absl::WrapUnique(new CatalogIndex(std::move(catalog)));
  index->Build();
  return std::unique_ptr<const CatalogIndex>(std::move(index));
}

CatalogIndex::CatalogIndex(Catalog catalog) : catalog_(std::move(catalog)) {}

void CatalogIndex::Build() {
  for (const auto& d : catalog_.departments()) departments_.emplace(d.id(), &d);
  for (const auto& m : catalog_.matters()) matters_.emplace(m.id(), &m);
  for (const auto& c : catalog_.data_classes()) {
    classes_.emplace(c.id(), &c);
    by_topic_.emplace(DataTopicFor(c), &c);
    payloads_.emplace(
        c.id(), pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
                    c.payload_type()));
    by_department_[c.source_department()].push_back(&c);
    for (const auto& fs : c.field_sensitivities()) {
      sensitivities_.emplace(SensitivityKey(c.id(), fs.field()),
                             fs.sensitivity());
    }
  }
}

const datarun::v1::Department* CatalogIndex::FindDepartment(
    absl::string_view id) const {
  auto it = departments_.find(id);
  return it == departments_.end() ? nullptr : it->second;
}

const DataClass* CatalogIndex::FindDataClass(absl::string_view id) const {
  auto it = classes_.find(id);
  return it == classes_.end() ? nullptr : it->second;
}

const datarun::v1::Matter* CatalogIndex::FindMatter(
    absl::string_view id) const {
  auto it = matters_.find(id);
  return it == matters_.end() ? nullptr : it->second;
}

const DataClass* CatalogIndex::FindDataClassByTopic(
    absl::string_view topic) const {
  auto it = by_topic_.find(topic);
  return it == by_topic_.end() ? nullptr : it->second;
}

const pb::Descriptor* CatalogIndex::PayloadDescriptor(
    absl::string_view class_id) const {
  auto it = payloads_.find(class_id);
  return it == payloads_.end() ? nullptr : it->second;
}

datarun::v1::Sensitivity CatalogIndex::FieldSensitivity(
    absl::string_view class_id, absl::string_view field) const {
  const pb::Descriptor* payload = PayloadDescriptor(class_id);
  if (payload == nullptr ||
      payload->FindFieldByName(std::string(field)) == nullptr) {
    return datarun::v1::SENSITIVITY_UNSPECIFIED;
  }
  auto it = sensitivities_.find(SensitivityKey(class_id, field));
  return it == sensitivities_.end() ? datarun::v1::SENSITIVITY_INTERNAL
                                    : it->second;
}

std::vector<const DataClass*> CatalogIndex::ClassesFromDepartment(
    absl::string_view department_id) const {
  auto it = by_department_.find(department_id);
  return it == by_department_.end() ? std::vector<const DataClass*>()
                                    : it->second;
}

std::vector<std::string> CatalogIndex::DataTopics() const {
  std::vector<std::string> topics;
  topics.reserve(catalog_.data_classes_size());
  for (const auto& c : catalog_.data_classes()) {
    topics.push_back(DataTopicFor(c));
  }
  return topics;
}

}  // namespace datarun::catalog
