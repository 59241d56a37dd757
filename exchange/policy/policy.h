// Policy: deny by default. Decides whether a QueryRequest may be answered,
// under which sharing agreement, and which fields of which classes may
// leave the exchange.
//
// Two steps, so the policy does no I/O and is testable on its own:
//  1. CheckRequest (request-level): signature of the requesting department,
//     freshness, known requester and matter, a live sharing agreement of the
//     requester for the matter, identity assurance, proxy allowed, kind and
//     predicate coverage and parameters; CERTIFICATE: the template exists and
//     the agreement covers every class and field it draws on; DOSSIER: the
//     agreement allows dossiers.
//  2. CheckSubject (per subject): given the subject's consent_grant and
//     delegation records (the resolver reads them in the same prefix scan as
//     the data), a live delegation to the agent for proxy requests and a live
//     consent when the agreement requires one, or (PROFILE, CERTIFICATE,
//     DOSSIER) a disclosed class is consent_required and not exempted by the
//     agreement's statute (consent_exempt_classes). VERIFY discloses no
//     payload, so a class's own consent flag does not apply to it.
// Every denial names a rule id of rules.h plus a message naming the entity
// at fault. Precomputes per-agreement field masks at Create.
//
// Callers: the resolver. Thread-safety: immutable after Create; every method
// is const and safe from any number of threads.
#ifndef DATARUN_EXCHANGE_POLICY_POLICY_H_
#define DATARUN_EXCHANGE_POLICY_POLICY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "exchange/catalog/catalog.h"
#include "exchange/policy/field_mask.h"
#include "exchange/seal/keyring.h"
#include "proto/datarun/v1/catalog.pb.h"
#include "proto/datarun/v1/query.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::policy {

// The data classes gating access; their records are read with the data.
inline constexpr absl::string_view kConsentClass = "consent_grant";
inline constexpr absl::string_view kDelegationClass = "delegation";

struct Decision {
  bool allowed = false;
  // Allowed: the sharing agreement id. Denied: a rule id of rules.h.
  std::string rule;
  // Denied: what is wrong, naming the entity at fault.
  std::string message;

  static Decision Allow(std::string agreement_id);
  static Decision Deny(absl::string_view rule, std::string message);
};

// What an agreement lets out of one class.
struct ClassGrant {
  const datarun::v1::DataClass* data_class = nullptr;
  const google::protobuf::Descriptor* payload = nullptr;
  // Default instance of the payload type, looked up once: the generated
  // factory's lookup takes a lock shared by all threads.
  const google::protobuf::Message* prototype = nullptr;
  // The Any type URL of disclosed payloads (as Any::PackFrom writes it).
  std::string type_url;
  FieldMask mask;  // empty: verification only, nothing disclosed
};

// A sharing agreement, precomputed.
struct AgreementPlan {
  const datarun::v1::SharingAgreement* agreement = nullptr;
  const datarun::v1::Matter* matter = nullptr;
  absl::flat_hash_map<std::string, ClassGrant> classes;
  // Classes a PROFILE discloses (those with at least one field), plus the
  // gating classes: what the resolver reads for a profile.
  absl::flat_hash_set<std::string> profile_read;
  // Classes a PROFILE discloses that need consent (class flag, or all of
  // them when the agreement requires consent), less the exempted ones.
  std::vector<std::string> profile_consent;
  // Consent-required classes a PROFILE discloses without consent under the
  // agreement's statutory exemption (consent_exempt_classes).
  std::vector<std::string> profile_exempted;
  // DOSSIER: the classes it discloses, in the matter's order.
  std::vector<std::string> dossier_classes;
  // Template id -> the consent-required classes it draws on that this
  // agreement exempts (only templates with any).
  absl::flat_hash_map<std::string, std::vector<std::string>> template_exempted;
};

// The outcome of CheckRequest.
struct RequestGrant {
  Decision decision;
  const AgreementPlan* plan = nullptr;  // set when allowed
  const datarun::v1::VerificationPredicate* predicate = nullptr;  // VERIFY
  // Classes whose use needs the subject's consent (empty: none needed).
  std::vector<std::string> consent_classes;
  // What the resolver must read for each subject (data + gating classes);
  // points into the Policy.
  const absl::flat_hash_set<std::string>* read_classes = nullptr;
  // Consent-required classes the answer may use without the subject's
  // consent, under the agreement's statutory exemption (the audit event
  // records those it used, with the agreement's legal_basis). Null: none.
  // Points into the Policy: a profile answer must not copy it.
  const std::vector<std::string>* consent_exempted = nullptr;
  // CERTIFICATE: the template (every class and field of it is covered).
  const datarun::v1::CertificateTemplate* certificate_template = nullptr;
  // DOSSIER: the sections' classes, in the matter's order (plan->classes
  // holds their masks).
  const std::vector<std::string>* dossier_classes = nullptr;
};

struct PolicyOptions {
  // Maximum distance between requested_at and the exchange's clock.
  absl::Duration max_clock_skew = absl::Minutes(5);
  // Check each request's seal signature (default). Turn off only where the
  // transport already authenticates the requesting department (Kafka
  // mTLS/SASL principal mapped to the department by broker ACLs on
  // dr.query.req): an Ed25519 verify costs ~50 us, SM2 ~200 us, which then
  // dominates the cost of a profile answer (docs/policy.md).
  bool verify_signatures = true;
};

class Policy {
 public:
  // Indexes agreements, matters and predicates of `catalog` and builds the
  // field masks. InvalidArgument names the agreement or predicate whose
  // class or field does not exist. `keyring` verifies request signatures
  // (keys of the catalog's departments). Neither is owned.
  static absl::StatusOr<std::unique_ptr<Policy>> Create(
      const catalog::CatalogIndex& catalog, const seal::SealKeyring& keyring,
      PolicyOptions options = {});

  RequestGrant CheckRequest(const datarun::v1::QueryRequest& request,
                            absl::Time now) const;

  // `gating` holds the subject's live consent_grant and delegation records
  // (other classes are ignored).
  Decision CheckSubject(const RequestGrant& grant,
                        const datarun::v1::QueryRequest& request,
                        const datarun::v1::Subject& subject,
                        const std::vector<datarun::v1::Record>& gating,
                        absl::Time now) const;

  const catalog::CatalogIndex& catalog() const { return catalog_; }
  const datarun::v1::VerificationPredicate* FindPredicate(
      absl::string_view id) const;
  const datarun::v1::CertificateTemplate* FindTemplate(
      absl::string_view id) const;

 private:
  Policy(const catalog::CatalogIndex& catalog, const seal::SealKeyring& keyring,
         PolicyOptions options)
      : catalog_(catalog), keyring_(keyring), options_(options) {}

  Decision CheckSignature(const datarun::v1::QueryRequest& request) const;
  // CheckRequest's kind-specific part for CERTIFICATE and DOSSIER
  // (document_policy.cc); `g->plan` is set.
  void CheckDocumentKind(const datarun::v1::QueryRequest& request,
                         RequestGrant* g) const;

  const catalog::CatalogIndex& catalog_;
  const seal::SealKeyring& keyring_;
  const PolicyOptions options_;
  // (consumer department, matter) -> plans of its agreements.
  absl::flat_hash_map<std::pair<std::string, std::string>,
                      std::vector<std::unique_ptr<AgreementPlan>>>
      plans_;
  absl::flat_hash_map<std::string, const datarun::v1::VerificationPredicate*>
      predicates_;
  // Predicate id -> the classes it reads plus the gating classes.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>
      predicate_read_;
  absl::flat_hash_map<std::string, const datarun::v1::CertificateTemplate*>
      templates_;
  // Template id -> its source classes plus the gating classes.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>
      template_read_;
};

// Signs `request` for its requester: sets key_id and signature over
// seal::SignedBytes(request without signature, "request").
absl::Status SignRequest(const seal::Signer& signer,
                         datarun::v1::QueryRequest* request);

}  // namespace datarun::policy

#endif  // DATARUN_EXCHANGE_POLICY_POLICY_H_
