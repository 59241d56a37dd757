// What ingest needs to know about data classes: the authoritative source
// department, the payload type, the subject kind and whether a subject may
// hold several records of the class.
//
// A narrow seam on purpose: ingest only asks "what is class C", so it can be
// backed by the catalog proto directly (CatalogClassDirectory below) or, once
// it exists, by exchange/catalog's CatalogIndex with a one-line adapter.
//
// Thread-safety: implementations are immutable after construction; lookups
// are safe from any thread.
#ifndef DATARUN_EXCHANGE_INGEST_CLASS_DIRECTORY_H_
#define DATARUN_EXCHANGE_INGEST_CLASS_DIRECTORY_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "proto/datarun/v1/catalog.pb.h"

namespace datarun::ingest {

struct ClassInfo {
  std::string id;
  std::string source_department;
  std::string payload_type;  // full message name
  datarun::v1::SubjectKind subject_kind = datarun::v1::SUBJECT_KIND_UNSPECIFIED;
  bool multi_record = false;
};

class ClassDirectory {
 public:
  virtual ~ClassDirectory() = default;
  // nullptr when the class is unknown.
  virtual const ClassInfo* FindClass(absl::string_view id) const = 0;
  // Department ids (for the DLQ topics).
  virtual std::vector<std::string> Departments() const = 0;
  // Every class (for the data topics).
  virtual std::vector<ClassInfo> Classes() const = 0;
};

// A ClassDirectory over a Catalog message (copied at construction).
class CatalogClassDirectory : public ClassDirectory {
 public:
  explicit CatalogClassDirectory(const datarun::v1::Catalog& catalog);
  const ClassInfo* FindClass(absl::string_view id) const override;
  std::vector<std::string> Departments() const override;
  std::vector<ClassInfo> Classes() const override;

 private:
  absl::flat_hash_map<std::string, ClassInfo> classes_;
  std::vector<std::string> departments_;
};

}  // namespace datarun::ingest

#endif  // DATARUN_EXCHANGE_INGEST_CLASS_DIRECTORY_H_
