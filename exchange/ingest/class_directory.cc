#include "exchange/ingest/class_directory.h"

#include <algorithm>

namespace datarun::ingest {

CatalogClassDirectory::CatalogClassDirectory(
    const datarun::v1::Catalog& catalog) {
  for (const auto& d : catalog.departments()) departments_.push_back(d.id());
  std::sort(departments_.begin(), departments_.end());
  for (const auto& c : catalog.data_classes()) {
    ClassInfo info;
    info.id = c.id();
    info.source_department = c.source_department();
    info.payload_type = c.payload_type();
    info.subject_kind = c.subject_kind();
    info.multi_record = c.multi_record();
    classes_[c.id()] = std::move(info);
  }
}

const ClassInfo* CatalogClassDirectory::FindClass(absl::string_view id) const {
  auto it = classes_.find(id);
  return it == classes_.end() ? nullptr : &it->second;
}

std::vector<std::string> CatalogClassDirectory::Departments() const {
  return departments_;
}

std::vector<ClassInfo> CatalogClassDirectory::Classes() const {
  std::vector<ClassInfo> out;
  for (const auto& [id, info] : classes_) out.push_back(info);
  std::sort(out.begin(), out.end(),
            [](const ClassInfo& a, const ClassInfo& b) { return a.id < b.id; });
  return out;
}

}  // namespace datarun::ingest
