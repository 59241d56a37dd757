#include "exchange/seal/openssl/openssl_seal.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace datarun::seal::openssl {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Drains this thread's OpenSSL error queue into one message, so a failure
// says both what we were doing and what OpenSSL objected to.
std::string DrainErrors() {
  std::string out;
  unsigned long e;
  while ((e = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out;
}

absl::Status OpenSslError(absl::StatusCode code, absl::string_view what) {
  std::string errors = DrainErrors();
  return absl::Status(
      code, errors.empty() ? std::string(what)
                           : absl::StrCat(what, " (openssl: ", errors, ")"));
}

absl::StatusOr<BioPtr> MemBio(absl::string_view data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (bio == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal, "BIO_new_mem_buf failed");
  }
  return bio;
}

std::string BioContents(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, len > 0 ? static_cast<size_t>(len) : 0);
}

absl::StatusOr<PkeyPtr> ParsePrivatePem(absl::string_view pem) {
  ASSIGN_OR_RETURN(BioPtr bio, MemBio(pem));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "not a PEM private key (expected PKCS#8 "
                        "'-----BEGIN PRIVATE KEY-----')");
  }
  return key;
}

absl::StatusOr<PkeyPtr> ParsePublicPem(absl::string_view pem) {
  ASSIGN_OR_RETURN(BioPtr bio, MemBio(pem));
  PkeyPtr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "not a PEM public key (expected SubjectPublicKeyInfo "
                        "'-----BEGIN PUBLIC KEY-----')");
  }
  return key;
}

absl::StatusOr<SealAlgorithm> KeyAlgorithm(EVP_PKEY* key) {
  if (EVP_PKEY_is_a(key, "SM2")) return SealAlgorithm::kSm2Sm3;
  if (EVP_PKEY_is_a(key, "ED25519")) return SealAlgorithm::kEd25519;
  const char* type = EVP_PKEY_get0_type_name(key);
  ERR_clear_error();
  return absl::InvalidArgumentError(
      absl::StrCat("key type '", type == nullptr ? "unknown" : type,
                   "' is not a seal key: expected SM2 or ED25519"));
}

absl::Status CheckAlgorithm(EVP_PKEY* key, const KeyIdentity& identity) {
  ASSIGN_OR_RETURN(SealAlgorithm actual, KeyAlgorithm(key));
  if (actual != identity.algorithm) {
    return absl::InvalidArgumentError(
        absl::StrCat("key ", identity.department, "/", identity.key_id,
                     " is an ", AlgorithmName(actual), " key but ",
                     AlgorithmName(identity.algorithm), " was declared"));
  }
  return absl::OkStatus();
}

// Initialises `ctx` for signing or verifying with `key`: SM3 digest and the
// GB/T 32918 distinguishing id for SM2, no digest for Ed25519 (pure EdDSA).
absl::Status InitContext(EVP_MD_CTX* ctx, EVP_PKEY* key,
                         SealAlgorithm algorithm, bool sign) {
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = algorithm == SealAlgorithm::kSm2Sm3 ? EVP_sm3() : nullptr;
  int rc = sign ? EVP_DigestSignInit(ctx, &pctx, md, nullptr, key)
                : EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key);
  if (rc != 1) {
    return OpenSslError(
        absl::StatusCode::kInternal,
        sign ? "EVP_DigestSignInit failed" : "EVP_DigestVerifyInit failed");
  }
  if (algorithm == SealAlgorithm::kSm2Sm3 &&
      EVP_PKEY_CTX_set1_id(pctx, kSm2DistinguishingId.data(),
                           kSm2DistinguishingId.size()) <= 0) {
    return OpenSslError(absl::StatusCode::kInternal,
                        "EVP_PKEY_CTX_set1_id (SM2 distinguishing id) failed");
  }
  return absl::OkStatus();
}

// The per-call context: a copy of the template, or a fresh initialisation.
class ContextFactory {
 public:
  ContextFactory(PkeyPtr key, SealAlgorithm algorithm, bool sign,
                 ContextStrategy strategy)
      : key_(std::move(key)),
        algorithm_(algorithm),
        sign_(sign),
        strategy_(strategy) {}

  absl::Status Init() {
    const int max_size = EVP_PKEY_get_size(key_.get());
    if (max_size <= 0) {
      return OpenSslError(absl::StatusCode::kInternal,
                          "EVP_PKEY_get_size failed");
    }
    max_signature_size_ = static_cast<size_t>(max_size);
    if (strategy_ != ContextStrategy::kCopyTemplate) return absl::OkStatus();
    template_.reset(EVP_MD_CTX_new());
    if (template_ == nullptr) {
      return OpenSslError(absl::StatusCode::kResourceExhausted,
                          "EVP_MD_CTX_new failed");
    }
    return InitContext(template_.get(), key_.get(), algorithm_, sign_);
  }

  size_t max_signature_size() const { return max_signature_size_; }

  absl::StatusOr<MdCtxPtr> New() const {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    if (ctx == nullptr) {
      return OpenSslError(absl::StatusCode::kResourceExhausted,
                          "EVP_MD_CTX_new failed");
    }
    if (template_ != nullptr) {
      // Reads the template only; OpenSSL's dup takes references atomically.
      if (EVP_MD_CTX_copy_ex(ctx.get(), template_.get()) != 1) {
        return OpenSslError(absl::StatusCode::kInternal,
                            "EVP_MD_CTX_copy_ex failed");
      }
      return ctx;
    }
    RETURN_IF_ERROR(InitContext(ctx.get(), key_.get(), algorithm_, sign_));
    return ctx;
  }

 private:
  const PkeyPtr key_;
  const SealAlgorithm algorithm_;
  const bool sign_;
  const ContextStrategy strategy_;
  // Set once in Init(), read-only afterwards.
  MdCtxPtr template_;
  size_t max_signature_size_ = 0;
};

class OpenSslSigner : public Signer {
 public:
  OpenSslSigner(KeyIdentity identity, PkeyPtr key, ContextStrategy strategy)
      : identity_(std::move(identity)),
        factory_(std::move(key), identity_.algorithm, /*sign=*/true, strategy) {
  }

  absl::Status Init() { return factory_.Init(); }

  absl::StatusOr<std::string> Sign(absl::string_view data) const override {
    ASSIGN_OR_RETURN(MdCtxPtr ctx, factory_.New());
    const auto* in = reinterpret_cast<const unsigned char*>(data.data());
    // The key's maximum signature size saves a sizing call per signature.
    size_t len = factory_.max_signature_size();
    std::string sig(len, '\0');
    // A context is good for one signature; this one was made for this call.
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(&sig[0]),
                       &len, in, data.size()) != 1) {
      return OpenSslError(absl::StatusCode::kInternal,
                          absl::StrCat("signing with ", identity_.department,
                                       "/", identity_.key_id, " failed"));
    }
    sig.resize(len);
    return sig;
  }

  const KeyIdentity& identity() const override { return identity_; }

 private:
  const KeyIdentity identity_;
  ContextFactory factory_;
};

class OpenSslVerifier : public Verifier {
 public:
  OpenSslVerifier(KeyIdentity identity, PkeyPtr key)
      : identity_(std::move(identity)),
        factory_(std::move(key), identity_.algorithm, /*sign=*/false,
                 ContextStrategy::kCopyTemplate) {}

  absl::Status Init() { return factory_.Init(); }

  absl::Status Verify(absl::string_view data,
                      absl::string_view signature) const override {
    if (signature.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("empty signature for key ",
                                                     identity_.department, "/",
                                                     identity_.key_id));
    }
    ASSIGN_OR_RETURN(MdCtxPtr ctx, factory_.New());
    int rc = EVP_DigestVerify(
        ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
        signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
        data.size());
    if (rc == 1) return absl::OkStatus();
    // 0 is a clean mismatch; < 0 is usually an undecodable signature (an
    // altered DER byte). Either way the seal does not hold.
    std::string errors = DrainErrors();
    return absl::UnauthenticatedError(absl::StrCat(
        "seal signature does not verify with ",
        AlgorithmName(identity_.algorithm), " key ", identity_.department, "/",
        identity_.key_id,
        ": content or signature altered, or signed with another key",
        errors.empty() ? "" : absl::StrCat(" (openssl: ", errors, ")")));
  }

  const KeyIdentity& identity() const override { return identity_; }

 private:
  const KeyIdentity identity_;
  ContextFactory factory_;
};

absl::StatusOr<std::string> PrivateToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return OpenSslError(absl::StatusCode::kInternal,
                        "PEM_write_bio_PrivateKey failed");
  }
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PublicToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || PEM_write_bio_PUBKEY(bio.get(), key) != 1) {
    return OpenSslError(absl::StatusCode::kInternal,
                        "PEM_write_bio_PUBKEY failed");
  }
  return BioContents(bio.get());
}

}  // namespace

absl::StatusOr<KeyPairPem> GenerateKeyPair(SealAlgorithm algorithm) {
  const char* type = algorithm == SealAlgorithm::kSm2Sm3 ? "SM2" : "ED25519";
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, type));
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInternal,
                        absl::StrCat("generating a ", type, " key failed"));
  }
  KeyPairPem pair;
  ASSIGN_OR_RETURN(pair.private_pem, PrivateToPem(key.get()));
  ASSIGN_OR_RETURN(pair.public_pem, PublicToPem(key.get()));
  return pair;
}

absl::StatusOr<SealAlgorithm> AlgorithmOfPrivatePem(absl::string_view pem) {
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivatePem(pem));
  return KeyAlgorithm(key.get());
}

absl::StatusOr<SealAlgorithm> AlgorithmOfPublicPem(absl::string_view pem) {
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePublicPem(pem));
  return KeyAlgorithm(key.get());
}

absl::StatusOr<std::string> PublicPemFromPrivatePem(
    absl::string_view private_pem) {
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivatePem(private_pem));
  return PublicToPem(key.get());
}

absl::StatusOr<std::unique_ptr<Signer>> NewSigner(absl::string_view private_pem,
                                                  KeyIdentity identity,
                                                  ContextStrategy strategy) {
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivatePem(private_pem));
  RETURN_IF_ERROR(CheckAlgorithm(key.get(), identity));
  auto signer = std::make_unique<OpenSslSigner>(std::move(identity),
                                                std::move(key), strategy);
  RETURN_IF_ERROR(signer->Init());
  return signer;
}

absl::StatusOr<std::unique_ptr<Verifier>> NewVerifier(
    absl::string_view public_pem, KeyIdentity identity) {
  ASSIGN_OR_RETURN(PkeyPtr key, ParsePublicPem(public_pem));
  RETURN_IF_ERROR(CheckAlgorithm(key.get(), identity));
  auto verifier =
      std::make_unique<OpenSslVerifier>(std::move(identity), std::move(key));
  RETURN_IF_ERROR(verifier->Init());
  return verifier;
}

}  // namespace datarun::seal::openssl
