#include "exchange/seal/fake/fake_seal.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace datarun::seal::fake {
namespace {

std::string FakeSignature(const KeyIdentity& id, absl::string_view data) {
  const std::string name = absl::StrCat(id.department, "/", id.key_id);
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](absl::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(name);
  mix(absl::string_view("\0", 1));
  mix(AlgorithmName(id.algorithm));
  mix(absl::string_view("\0", 1));
  mix(data);
  return absl::StrFormat("fake-seal:%s:%016x", name, h);
}

}  // namespace

absl::StatusOr<std::string> FakeSigner::Sign(absl::string_view data) const {
  return FakeSignature(identity_, data);
}

absl::Status FakeVerifier::Verify(absl::string_view data,
                                  absl::string_view signature) const {
  if (signature.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("empty signature for key ",
                                                   identity_.department, "/",
                                                   identity_.key_id));
  }
  if (signature != FakeSignature(identity_, data)) {
    return absl::UnauthenticatedError(
        absl::StrCat("fake seal signature does not verify with key ",
                     identity_.department, "/", identity_.key_id));
  }
  return absl::OkStatus();
}

std::string FakePublicKeyPem(const KeyIdentity& identity) {
  return absl::StrCat("FAKE SEAL PUBLIC KEY ",
                      AlgorithmName(identity.algorithm), " ",
                      identity.department, "/", identity.key_id);
}

VerifierFactory FakeVerifierFactory() {
  return [](absl::string_view pem,
            KeyIdentity identity) -> absl::StatusOr<std::unique_ptr<Verifier>> {
    if (pem != FakePublicKeyPem(identity)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not the fake public key of ", identity.department, "/",
          identity.key_id, " (", AlgorithmName(identity.algorithm), ")"));
    }
    return std::make_unique<FakeVerifier>(std::move(identity));
  };
}

}  // namespace datarun::seal::fake
