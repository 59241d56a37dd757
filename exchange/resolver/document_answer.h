// The resolver's sealed-document answers: QUERY_KIND_CERTIFICATE (an
// electronic certificate from a catalog template, sealed by the template's
// issuer department) and QUERY_KIND_DOSSIER (the classes a matter's
// agreement discloses, masked, assembled into one dossier sealed by the
// exchange's dossier department, e.g. the court's filing dossier).
//
// Resolver::Handle calls AnswerDocument after the policy allowed the request
// (CheckRequest and CheckSubject: agreement, coverage, consent or statutory
// exemption), with the subject's records read in its one prefix scan. The
// exchange may still refuse to issue: no seal of the department that must
// seal (document.no_seal), or nothing to certify (certificate.no_record);
// those come back as a denied Decision, audited like a policy denial.
// AnnotateEvent adds what the audit event of any kind must say about
// templates and statutory consent exemptions.
//
// Thread-safety: stateless functions; the catalog and signers are immutable.
#ifndef DATARUN_EXCHANGE_RESOLVER_DOCUMENT_ANSWER_H_
#define DATARUN_EXCHANGE_RESOLVER_DOCUMENT_ANSWER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "exchange/catalog/catalog.h"
#include "exchange/certificate/signer_set.h"
#include "exchange/policy/policy.h"
#include "proto/datarun/v1/audit.pb.h"
#include "proto/datarun/v1/query.pb.h"
#include "proto/datarun/v1/record.pb.h"

namespace datarun::resolver {

// The seals the resolver applies to documents.
struct DocumentSeals {
  // Current signer per department (LoadCurrentSigners); null: the exchange
  // holds no seal and refuses every certificate and dossier. Not owned.
  const certificate::SignerSet* signers = nullptr;
  // The department dossiers are sealed as.
  std::string dossier_department = "big_data_bureau";
};

// Answers an allowed CERTIFICATE or DOSSIER request about its one subject.
// `data` holds the subject's records of grant.read_classes (gating classes
// removed). On success the document is in `response` and `event` lists the
// classes, fields and record keys disclosed and the document id; a returned
// denial (rule of exchange/policy/rules.h) leaves both untouched. An error
// status (a stored payload that does not parse, sealing failed) means no
// answer at all, as for the other kinds.
absl::StatusOr<policy::Decision> AnswerDocument(
    const catalog::CatalogIndex& catalog, const DocumentSeals& seals,
    const policy::RequestGrant& grant, const datarun::v1::QueryRequest& request,
    const std::vector<datarun::v1::Record>& data, absl::Time now,
    datarun::v1::AuditEvent* event, datarun::v1::QueryResponse* response);

// For every kind, before the event is chained: the template id as detail
// (also on denials), and, when `decision` allowed the request and `event`
// discloses a class the agreement exempts from consent, that the exemption
// was used (those classes and the agreement's legal basis). Call after the
// event's `disclosed` is filled.
void AnnotateEvent(const policy::RequestGrant& grant,
                   const datarun::v1::QueryRequest& request,
                   const policy::Decision& decision,
                   datarun::v1::AuditEvent* event);

}  // namespace datarun::resolver

#endif  // DATARUN_EXCHANGE_RESOLVER_DOCUMENT_ANSWER_H_
