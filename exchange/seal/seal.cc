#include "exchange/seal/seal.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace datarun::seal {

absl::string_view AlgorithmName(SealAlgorithm algorithm) {
  switch (algorithm) {
    case SealAlgorithm::kSm2Sm3:
      return "sm2";
    case SealAlgorithm::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

absl::string_view AlgorithmCatalogName(SealAlgorithm algorithm) {
  switch (algorithm) {
    case SealAlgorithm::kSm2Sm3:
      return "SEAL_ALGORITHM_SM2_SM3";
    case SealAlgorithm::kEd25519:
      return "SEAL_ALGORITHM_ED25519";
  }
  return "SEAL_ALGORITHM_UNSPECIFIED";
}

absl::StatusOr<SealAlgorithm> ParseAlgorithm(absl::string_view name) {
  const std::string lower = absl::AsciiStrToLower(name);
  if (lower == "sm2" || lower == "sm2_sm3" || lower == "sm2-sm3" ||
      lower == "seal_algorithm_sm2_sm3") {
    return SealAlgorithm::kSm2Sm3;
  }
  if (lower == "ed25519" || lower == "seal_algorithm_ed25519") {
    return SealAlgorithm::kEd25519;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown seal algorithm '", name,
                   "': expected 'sm2' (SM2 with SM3) or 'ed25519'"));
}

}  // namespace datarun::seal
