#include "exchange/seal/keyring.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/seal/key_store.h"
#include "exchange/seal/openssl/openssl_seal.h"

namespace datarun::seal {
namespace {

std::string Name(absl::string_view department, absl::string_view key_id) {
  return absl::StrCat(department, "/", key_id);
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime(absl::RFC3339_full, t, absl::UTCTimeZone());
}

}  // namespace

SealKeyring::SealKeyring()
    : SealKeyring([](absl::string_view pem, KeyIdentity identity) {
        return openssl::NewVerifier(pem, std::move(identity));
      }) {}

SealKeyring::SealKeyring(VerifierFactory factory)
    : factory_(std::move(factory)) {}

absl::Status SealKeyring::Add(const PublicKeyEntry& entry) {
  RETURN_IF_ERROR(CheckKeyName("department", entry.department));
  RETURN_IF_ERROR(CheckKeyName("key id", entry.key_id));
  const std::string name = Name(entry.department, entry.key_id);
  if (entry.valid_from >= entry.valid_until) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seal key ", name, ": valid_from ", Rfc3339(entry.valid_from),
        " is not before valid_until ", Rfc3339(entry.valid_until)));
  }
  auto verifier =
      factory_(entry.public_key_pem,
               KeyIdentity{entry.department, entry.key_id, entry.algorithm});
  if (!verifier.ok()) {
    return absl::Status(
        verifier.status().code(),
        absl::StrCat("seal key ", name, ": ", verifier.status().message()));
  }
  auto key = std::make_unique<Key>();
  key->entry = entry;
  key->verifier = *std::move(verifier);
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = keys_.emplace(
      std::make_pair(entry.department, entry.key_id), std::move(key));
  if (!inserted) {
    return absl::AlreadyExistsError(
        absl::StrCat("seal key ", name, " is listed twice"));
  }
  return absl::OkStatus();
}

absl::Status SealKeyring::Verify(absl::string_view department,
                                 absl::string_view key_id,
                                 SealAlgorithm declared, absl::Time signed_at,
                                 absl::string_view data,
                                 absl::string_view signature) const {
  const std::string name = Name(department, key_id);
  const Key* key = nullptr;
  {
    absl::MutexLock lock(&mu_);
    auto it = keys_.find(
        std::make_pair(std::string(department), std::string(key_id)));
    if (it == keys_.end()) {
      return absl::NotFoundError(
          absl::StrCat("unknown seal key ", name,
                       ": the catalog lists no such department and key id"));
    }
    key = it->second.get();
  }
  if (declared != key->entry.algorithm) {
    return absl::InvalidArgumentError(absl::StrCat(
        "seal declares algorithm ", AlgorithmName(declared), " but key ", name,
        " is ", AlgorithmName(key->entry.algorithm)));
  }
  if (signed_at < key->entry.valid_from) {
    return absl::FailedPreconditionError(
        absl::StrCat("seal key ", name, " was not yet valid at signing time ",
                     Rfc3339(signed_at), " (valid from ",
                     Rfc3339(key->entry.valid_from), ")"));
  }
  if (signed_at >= key->entry.valid_until) {
    return absl::FailedPreconditionError(absl::StrCat(
        "seal key ", name, " had expired at signing time ", Rfc3339(signed_at),
        " (valid until ", Rfc3339(key->entry.valid_until), ")"));
  }
  if (IsBatchSignature(signature)) {
    return VerifyBatchSignature(name, *key->verifier, data, signature,
                                batch_roots_);
  }
  return key->verifier->Verify(data, signature);
}

size_t SealKeyring::size() const {
  absl::MutexLock lock(&mu_);
  return keys_.size();
}

}  // namespace datarun::seal
