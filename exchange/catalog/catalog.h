// Loading, checking and indexing the catalog (datarun.v1.Catalog).
//
// The catalog is a textproto (exchange/catalog/zhejiang.textproto) read once
// at start-up by the exchange core, connectors and the CLI (`datarun catalog
// check`). LoadCatalog() parses it and checks every rule the rest of the
// system relies on, so later code may assume: ids are unique per section,
// every department / class / matter reference resolves, every data class has
// its one authoritative source, and every payload type and field named exists
// in the linked generated code. Errors name the file, the entity and the line.
//
// CatalogIndex answers id and topic lookups in O(1).
//
// Thread-safety: LoadCatalog/ParseCatalog/ValidateCatalog are reentrant.
// CatalogIndex is immutable after Create(); concurrent reads from any number
// of threads are safe without locking.
#ifndef DATARUN_EXCHANGE_CATALOG_CATALOG_H_
#define DATARUN_EXCHANGE_CATALOG_CATALOG_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "proto/datarun/v1/catalog.pb.h"

namespace datarun::catalog {

// Prefix of the data topics: dr.data.<department>.<class>.
inline constexpr absl::string_view kDataTopicPrefix = "dr.data.";

// Reads, parses and validates the catalog textproto at `path`.
absl::StatusOr<datarun::v1::Catalog> LoadCatalog(absl::string_view path);

// Parses and validates catalog text. `source_name` (e.g. the path) prefixes
// every error message.
absl::StatusOr<datarun::v1::Catalog> ParseCatalog(
    absl::string_view text, absl::string_view source_name);

// Checks an already parsed catalog (e.g. one built in code). Errors carry no
// line numbers since the message has no source text.
absl::Status ValidateCatalog(const datarun::v1::Catalog& catalog,
                             absl::string_view source_name);

// "dr.data.<source_department>.<id>" for a data class.
std::string DataTopicFor(const datarun::v1::DataClass& data_class);

// Read-only O(1) lookups over a validated catalog.
class CatalogIndex {
 public:
  // Validates `catalog` (as ValidateCatalog) and indexes it.
  static absl::StatusOr<std::unique_ptr<const CatalogIndex>> Create(
      datarun::v1::Catalog catalog);

  CatalogIndex(const CatalogIndex&) = delete;
  CatalogIndex& operator=(const CatalogIndex&) = delete;

  const datarun::v1::Catalog& catalog() const { return catalog_; }
  const std::string& version() const { return catalog_.version(); }

  // nullptr when unknown.
  const datarun::v1::Department* FindDepartment(absl::string_view id) const;
  const datarun::v1::DataClass* FindDataClass(absl::string_view id) const;
  const datarun::v1::Matter* FindMatter(absl::string_view id) const;
  // The class published on `topic` ("dr.data.<dept>.<class>"); nullptr when
  // the topic is not a data topic of the catalog, including when the
  // department part is not the class's authoritative source.
  const datarun::v1::DataClass* FindDataClassByTopic(
      absl::string_view topic) const;
  // Descriptor of the class's payload message in the generated pool;
  // nullptr when the class is unknown.
  const google::protobuf::Descriptor* PayloadDescriptor(
      absl::string_view class_id) const;

  // Sensitivity of top-level payload field `field` of class `class_id`:
  // the catalog's level, SENSITIVITY_INTERNAL for fields it does not list,
  // SENSITIVITY_UNSPECIFIED when the class or the field does not exist.
  datarun::v1::Sensitivity FieldSensitivity(absl::string_view class_id,
                                            absl::string_view field) const;
  // Classes whose authoritative source is `department_id`, in catalog order
  // (empty for an unknown department).
  std::vector<const datarun::v1::DataClass*> ClassesFromDepartment(
      absl::string_view department_id) const;

  // Every data topic, in catalog order.
  std::vector<std::string> DataTopics() const;

 private:
  explicit CatalogIndex(datarun::v1::Catalog catalog);
  void Build();

  const datarun::v1::Catalog catalog_;
  // Values point into catalog_, which never changes after construction.
  absl::flat_hash_map<std::string, const datarun::v1::Department*> departments_;
  absl::flat_hash_map<std::string, const datarun::v1::DataClass*> classes_;
  absl::flat_hash_map<std::string, const datarun::v1::Matter*> matters_;
  absl::flat_hash_map<std::string, const datarun::v1::DataClass*> by_topic_;
  absl::flat_hash_map<std::string, const google::protobuf::Descriptor*>
      payloads_;
  // "<class>\0<field>" -> level, for the fields the catalog lists.
  absl::flat_hash_map<std::string, datarun::v1::Sensitivity> sensitivities_;
  absl::flat_hash_map<std::string, std::vector<const datarun::v1::DataClass*>>
      by_department_;
};

}  // namespace datarun::catalog

#endif  // DATARUN_EXCHANGE_CATALOG_CATALOG_H_
