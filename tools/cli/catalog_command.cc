// `datarun catalog check FILE`: loads and validates a catalog textproto with
// the same checks the exchange core runs at start-up, then prints a summary.
// Exit 0 valid, 1 invalid (every problem printed, with file and line), 2
// usage. See docs/cli.md.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "exchange/catalog/catalog.h"
#include "tools/cli/command.h"

namespace datarun::cli {
namespace {

int RunCatalogCheck(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    std::fprintf(stderr, "usage: datarun catalog check FILE\n");
    return 2;
  }
  absl::StatusOr<datarun::v1::Catalog> catalog =
      datarun::catalog::LoadCatalog(args[0]);
  if (!catalog.ok()) {
    std::fprintf(stderr, "error: %s\n",
                 std::string(catalog.status().message()).c_str());
    return 1;
  }
  // Distinct paper materials: several matters may replace the same one.
  absl::flat_hash_set<std::string> materials;
  for (const auto& matter : catalog->matters()) {
    for (const auto& material : matter.replaces_materials()) {
      materials.insert(material.id());
    }
  }
  absl::flat_hash_set<std::string> consumers;
  for (const auto& agreement : catalog->sharing_agreements()) {
    consumers.insert(agreement.consumer_department());
  }
  std::printf("catalog %s: valid (version %s)\n", args[0].c_str(),
              catalog->version().c_str());
  std::printf("departments: %d\n", catalog->departments_size());
  std::printf("data classes: %d\n", catalog->data_classes_size());
  std::printf("matters: %d\n", catalog->matters_size());
  std::printf("paper materials replaced: %zu\n", materials.size());
  std::printf("sharing agreements: %d (%zu consumer departments)\n",
              catalog->sharing_agreements_size(), consumers.size());
  std::printf("certificate templates: %d\n",
              catalog->certificate_templates_size());
  std::printf("verification predicates: %d\n",
              catalog->verification_predicates_size());
  return 0;
}

DATARUN_REGISTER_COMMAND("catalog check",
                         "Validate a catalog textproto and summarise it",
                         RunCatalogCheck);

}  // namespace
}  // namespace datarun::cli
