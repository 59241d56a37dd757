#include "exchange/resolver/document_answer.h"

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "exchange/certificate/dossier.h"
#include "exchange/certificate/issuer.h"
#include "exchange/policy/rules.h"

namespace datarun::resolver {

using datarun::v1::AuditEvent;
using datarun::v1::QueryRequest;
using datarun::v1::QueryResponse;
using datarun::v1::Record;

namespace {

bool Live(const Record& r, const datarun::v1::DataClass* cls) {
  return r.op() != Record::OP_DELETE &&
         (cls == nullptr || r.source_department() == cls->source_department());
}

// `r`'s payload cut to the agreement's fields. The wire filter is the
// profile path's fast way; payloads it cannot read take the reflection path,
// which also tells a wrong type from bad bytes.
absl::Status MaskRecord(const policy::ClassGrant& g, Record* r) {
  std::string masked;
  if (r->payload().type_url() == g.type_url &&
      g.mask.FilterWire(r->payload().value(), &masked)) {
    r->mutable_payload()->set_value(std::move(masked));
    return absl::OkStatus();
  }
  std::unique_ptr<google::protobuf::Message> payload(g.prototype->New());
  if (!r->payload().UnpackTo(payload.get())) {
    return absl::DataLossError(absl::StrCat(
        "stored record ", r->data_class(), "/", r->record_key(), " of ",
        r->subject().id(), " does not hold a ", g.payload->full_name()));
  }
  g.mask.Apply(payload.get());
  r->mutable_payload()->PackFrom(*payload);
  return absl::OkStatus();
}

absl::StatusOr<policy::Decision> AnswerCertificate(
    const catalog::CatalogIndex& catalog, const DocumentSeals& seals,
    const policy::RequestGrant& grant, const QueryRequest& request,
    const std::vector<Record>& data, absl::Time now, AuditEvent* event,
    QueryResponse* response) {
  const datarun::v1::CertificateTemplate& t = *grant.certificate_template;
  const datarun::v1::Subject& subject = request.subjects(0);
  if (seals.signers == nullptr ||
      seals.signers->Find(t.issuer_department()) == nullptr) {
    return policy::Decision::Deny(
        policy::kRuleNoSeal,
        absl::StrCat("this exchange holds no seal of ", t.issuer_department(),
                     ", the issuer of certificate template ", t.id()));
  }
  // "无" is an answer only where the template says absence is the fact it
  // certifies (no property); a resident certificate of nobody is not.
  for (const auto& src : t.sources()) {
    if (src.absence_certified()) continue;
    const datarun::v1::DataClass* cls = catalog.FindDataClass(src.data_class());
    bool found = false;
    for (const Record& r : data) {
      found |= r.data_class() == src.data_class() && Live(r, cls);
    }
    if (!found) {
      return policy::Decision::Deny(
          policy::kRuleNoRecord,
          absl::StrCat(
              "subject ", subject.id(), " has no ", src.data_class(), " record",
              cls ? absl::StrCat(" from ", cls->source_department()) : "",
              ", which certificate template ", t.id(), " needs"));
    }
  }
  certificate::CertificateIssuer issuer(catalog, *seals.signers);
  ASSIGN_OR_RETURN(datarun::v1::Certificate cert,
                   issuer.Issue(t.id(), subject, data, now));
  event->set_document_id(cert.serial());
  for (const auto& src : t.sources()) {
    datarun::v1::DisclosedClass* dc = event->add_disclosed();
    dc->set_data_class(src.data_class());
    *dc->mutable_fields() = src.fields();
    for (const auto& p : cert.sources()) {
      if (p.data_class() == src.data_class()) {
        dc->add_record_keys(p.record_key());
      }
    }
  }
  *response->mutable_certificate() = std::move(cert);
  return grant.decision;
}

absl::StatusOr<policy::Decision> AnswerDossier(
    const catalog::CatalogIndex& catalog, const DocumentSeals& seals,
    const policy::RequestGrant& grant, const QueryRequest& request,
    const std::vector<Record>& data, absl::Time now, AuditEvent* event,
    QueryResponse* response) {
  const datarun::v1::Subject& subject = request.subjects(0);
  const seal::Signer* signer =
      seals.signers == nullptr ? nullptr
                               : seals.signers->Find(seals.dossier_department);
  if (signer == nullptr) {
    return policy::Decision::Deny(
        policy::kRuleNoSeal,
        absl::StrCat("this exchange holds no seal of ",
                     seals.dossier_department,
                     ", the department dossiers are sealed as"));
  }
  const std::vector<std::string>& classes = *grant.dossier_classes;
  std::vector<Record> masked;
  masked.reserve(data.size());
  for (const Record& r : data) {
    auto g = grant.plan->classes.find(r.data_class());
    if (g == grant.plan->classes.end() || g->second.mask.empty() ||
        !Live(r, g->second.data_class)) {
      continue;
    }
    masked.push_back(r);
    RETURN_IF_ERROR(MaskRecord(g->second, &masked.back()));
  }
  // An id the exchange knows nothing about gets no dossier: an empty one
  // would read as "no household, no property" to the court.
  if (masked.empty()) {
    return policy::Decision::Deny(
        policy::kRuleNoRecord,
        absl::StrCat("the exchange holds no record of subject ", subject.id(),
                     " in any class of the ", request.matter(), " dossier"));
  }
  certificate::DossierRequest dr;
  dr.matter_id = request.matter();
  dr.subject = subject;
  dr.requester_department = request.requester_department();
  dr.classes = classes;
  ASSIGN_OR_RETURN(
      datarun::v1::Dossier dossier,
      certificate::AssembleDossier(catalog, dr, masked, now, *signer));
  event->set_document_id(dossier.id());
  for (const auto& section : dossier.sections()) {
    datarun::v1::DisclosedClass* dc = event->add_disclosed();
    dc->set_data_class(section.data_class());
    for (const auto& f :
         grant.plan->classes.at(section.data_class()).mask.paths()) {
      dc->add_fields(f);
    }
    for (const auto& r : section.records()) {
      dc->add_record_keys(r.provenance().record_key());
    }
  }
  *response->mutable_dossier() = std::move(dossier);
  return grant.decision;
}

}  // namespace

absl::StatusOr<policy::Decision> AnswerDocument(
    const catalog::CatalogIndex& catalog, const DocumentSeals& seals,
    const policy::RequestGrant& grant, const QueryRequest& request,
    const std::vector<Record>& data, absl::Time now, AuditEvent* event,
    QueryResponse* response) {
  if (request.kind() == datarun::v1::QUERY_KIND_CERTIFICATE) {
    return AnswerCertificate(catalog, seals, grant, request, data, now, event,
                             response);
  }
  return AnswerDossier(catalog, seals, grant, request, data, now, event,
                       response);
}

void AnnotateEvent(const policy::RequestGrant& grant,
                   const QueryRequest& request,
                   const policy::Decision& decision, AuditEvent* event) {
  if (request.kind() == datarun::v1::QUERY_KIND_CERTIFICATE) {
    event->set_detail(request.template_id());
  }
  if (!decision.allowed || grant.consent_exempted == nullptr) return;
  // Used = an exempted class is among what left the exchange (a profile
  // lists only classes with records; a certificate or dossier lists every
  // class it shows, since "none" is itself disclosed).
  for (const auto& cls : *grant.consent_exempted) {
    for (const auto& d : event->disclosed()) {
      if (d.data_class() == cls) {
        event->add_consent_exempt_classes(cls);
        break;
      }
    }
  }
  if (!event->consent_exempt_classes().empty()) {
    event->set_consent_exemption_basis(grant.plan->agreement->legal_basis());
  }
}

}  // namespace datarun::resolver
