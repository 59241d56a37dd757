// `datarun verify --certificate=FILE [--catalog=FILE]
//  [--revocations=FILE | --brokers=HOST:PORT] [--at=RFC3339]
//  [--export_openssl=DIR]`  and
// `datarun verify --dossier=FILE [--catalog=FILE] [--export_openssl=DIR]`
//
// Checks a certificate offline (exchange/certificate/verify.h): seal by its
// issuer, key known and valid at the issue time, signature, expiry at --at
// (default now), revocation by its issuer (--revocations, a JSON-lines dump
// of dr.cert.revoked, or --brokers to read the topic itself). Prints "valid:
// ..." and exits 0, or "invalid
// (<reason>): <details>" and exits 1; unreadable input prints "error: ..."
// and exits 1; usage errors exit 2.
// --export_openssl also writes data.bin, sig.bin, pub.pem and verify.sh for
// stock openssl (docs/certificates.md). See docs/cli.md.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "broker_adapters/kafka/kafka_broker.h"
#include "exchange/catalog/catalog.h"
#include "exchange/certificate/document_io.h"
#include "exchange/certificate/openssl_export.h"
#include "exchange/certificate/revocation_list.h"
#include "exchange/certificate/topic_revocations.h"
#include "exchange/certificate/verify.h"
#include "exchange/seal/catalog_keys.h"
#include "exchange/seal/document_seal.h"
#include "exchange/seal/keyring.h"
#include "tools/cli/command.h"
#include "tools/cli/common_flags.h"

ABSL_FLAG(std::string, dossier, "",
          "verify: dossier file (proto3 JSON or binary)");
ABSL_FLAG(std::string, revocations, "",
          "verify: revocation list, one datarun.v1.CertificateRevocation JSON "
          "object per line (the values of topic dr.cert.revoked)");
ABSL_FLAG(std::string, export_openssl, "",
          "verify: also write data.bin, sig.bin, pub.pem and verify.sh into "
          "this directory for stock openssl");
ABSL_FLAG(absl::Duration, revocations_timeout, absl::Seconds(30),
          "verify: how long to wait for topic dr.cert.revoked to be read to "
          "its end (with --brokers)");
ABSL_FLAG(std::string, at, "",
          "verify: check expiry at this RFC 3339 time instead of now");

namespace datarun::cli {
namespace {

using certificate::Verification;

int Usage(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  std::fprintf(stderr,
               "usage: datarun verify --certificate=FILE [--catalog=FILE] "
               "[--revocations=FILE | --brokers=HOST:PORT] [--at=RFC3339] "
               "[--export_openssl=DIR]\n"
               "       datarun verify --dossier=FILE [--catalog=FILE] "
               "[--export_openssl=DIR]\n");
  return 2;
}

// Unreadable input (certificate, catalog, revocation list): the command ran
// and failed, exit 1 as every datarun command (docs/cli.md).
int Fail(const absl::Status& status) {
  std::fprintf(stderr, "error: %s\n", std::string(status.message()).c_str());
  return 1;
}

std::string Rfc3339(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                          absl::FromUnixSeconds(ts.seconds()),
                          absl::UTCTimeZone());
}

int Report(const Verification& v, const std::string& what) {
  if (v.valid()) {
    std::printf("valid: %s\n", what.c_str());
    return 0;
  }
  std::printf("invalid (%s): %s\n",
              std::string(certificate::VerdictName(v.verdict)).c_str(),
              v.reason.c_str());
  return 1;
}

int RunVerify(const std::vector<std::string>& args) {
  if (!args.empty()) return Usage("unexpected argument " + args[0]);
  const std::string cert_path = absl::GetFlag(FLAGS_certificate);
  const std::string dossier_path = absl::GetFlag(FLAGS_dossier);
  if (cert_path.empty() == dossier_path.empty()) {
    return Usage("give exactly one of --certificate and --dossier");
  }
  if (!absl::GetFlag(FLAGS_brokers).empty() &&
      !absl::GetFlag(FLAGS_revocations).empty()) {
    return Usage("give at most one of --revocations and --brokers");
  }
  certificate::VerifyOptions options;
  options.now = absl::Now();
  if (const std::string at = absl::GetFlag(FLAGS_at); !at.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, at, &options.now, &err)) {
      return Usage(
          absl::StrCat("--at=", at, " is not an RFC 3339 time: ", err));
    }
  }
  auto catalog = catalog::LoadCatalog(absl::GetFlag(FLAGS_catalog));
  if (!catalog.ok()) return Fail(catalog.status());
  seal::SealKeyring keyring;
  if (absl::Status s = seal::AddCatalogKeys(*catalog, &keyring); !s.ok()) {
    return Fail(s);
  }
  options.keyring = &keyring;
  options.catalog = &*catalog;
  std::unique_ptr<certificate::InMemoryRevocationList> revocations;
  if (const std::string path = absl::GetFlag(FLAGS_revocations);
      !path.empty()) {
    auto loaded = certificate::LoadRevocationFile(path);
    if (!loaded.ok()) return Fail(loaded.status());
    revocations = *std::move(loaded);
    options.revocations = revocations.get();
  }
  if (const std::string brokers = absl::GetFlag(FLAGS_brokers);
      !brokers.empty()) {
    broker::KafkaConfig config;
    config.bootstrap = brokers;
    auto kafka = broker::NewKafkaBroker(config);
    if (!kafka.ok()) return Fail(kafka.status());
    auto loaded = certificate::ReadRevocationTopic(
        **kafka, absl::GetFlag(FLAGS_revocations_timeout));
    if (!loaded.ok()) return Fail(loaded.status());
    revocations = *std::move(loaded);
    options.revocations = revocations.get();
  }

  const std::string export_dir = absl::GetFlag(FLAGS_export_openssl);
  if (!cert_path.empty()) {
    v1::Certificate cert;
    if (absl::Status s = certificate::ReadDocumentFile(cert_path, &cert);
        !s.ok()) {
      return Fail(s);
    }
    if (!export_dir.empty()) {
      absl::Status s = certificate::ExportForOpenssl(
          cert, seal::kPurposeCertificate, *catalog, export_dir);
      if (!s.ok()) return Fail(s);
      std::fprintf(stderr, "wrote %s/{data.bin,sig.bin,pub.pem,verify.sh}\n",
                   export_dir.c_str());
    }
    return Report(certificate::VerifyCertificate(cert, options),
                  absl::StrCat("certificate ", cert.serial(), " (",
                               cert.template_id(), ") of ", cert.subject().id(),
                               ", issued by ", cert.issuer_department(), " at ",
                               Rfc3339(cert.issued_at()), ", expires ",
                               Rfc3339(cert.expires_at())));
  }
  v1::Dossier dossier;
  if (absl::Status s = certificate::ReadDocumentFile(dossier_path, &dossier);
      !s.ok()) {
    return Fail(s);
  }
  if (!export_dir.empty()) {
    absl::Status s = certificate::ExportForOpenssl(
        dossier, seal::kPurposeDossier, *catalog, export_dir);
    if (!s.ok()) return Fail(s);
  }
  int records = 0;
  for (const auto& section : dossier.sections()) {
    records += section.records_size();
  }
  return Report(
      certificate::VerifyDossier(dossier, options),
      absl::StrCat("dossier ", dossier.id(), " (", dossier.matter(), ") of ",
                   dossier.subject().id(), ", ", dossier.sections_size(),
                   " sections, ", records, " records, sealed by ",
                   dossier.seal().department(), " at ",
                   Rfc3339(dossier.assembled_at())));
}

}  // namespace

DATARUN_REGISTER_COMMAND(
    "verify",
    "Verify a certificate or dossier offline (seal, key validity, expiry, "
    "revocation)",
    RunVerify);

}  // namespace datarun::cli
