// Policy::CheckDocumentKind: the request-level rules of the sealed-document
// kinds (CERTIFICATE, DOSSIER). Kept apart from policy.cc, which holds the
// rules every kind shares.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "exchange/policy/policy.h"
#include "exchange/policy/rules.h"

namespace datarun::policy {

using datarun::v1::QueryRequest;

void Policy::CheckDocumentKind(const QueryRequest& request,
                               RequestGrant* g) const {
  auto deny = [g](absl::string_view rule, std::string message) {
    g->decision = Decision::Deny(rule, std::move(message));
  };
  const AgreementPlan& plan = *g->plan;
  const datarun::v1::SharingAgreement& agreement = *plan.agreement;
  const bool certificate =
      request.kind() == datarun::v1::QUERY_KIND_CERTIFICATE;
  // One sealed document is about one person: a batch would need one seal
  // per subject and an all-or-nothing answer of several documents.
  if (request.subjects_size() != 1) {
    return deny(kRuleBadSubject,
                absl::StrCat("a ", certificate ? "certificate" : "dossier",
                             " is about exactly one subject; the request "
                             "names ",
                             request.subjects_size()));
  }
  if (!certificate) {
    if (!agreement.allows_dossier()) {
      return deny(kRuleDossierNotAllowed,
                  absl::StrCat("sharing agreement ", agreement.id(), " of ",
                               agreement.consumer_department(), " for matter ",
                               agreement.matter(),
                               " does not provide for dossiers "
                               "(allows_dossier)"));
    }
    if (plan.dossier_classes.empty()) {
      return deny(kRuleNothingCovered,
                  absl::StrCat("sharing agreement ", agreement.id(),
                               " covers no field to put in a dossier"));
    }
    g->consent_classes = plan.profile_consent;
    if (!plan.profile_exempted.empty()) {
      g->consent_exempted = &plan.profile_exempted;
    }
    g->read_classes = &plan.profile_read;
    g->dossier_classes = &plan.dossier_classes;
    return;
  }
  const datarun::v1::CertificateTemplate* t =
      FindTemplate(request.template_id());
  if (t == nullptr) {
    return deny(kRuleUnknownTemplate,
                absl::StrCat("certificate template \"", request.template_id(),
                             "\" is not in catalog ", catalog_.version()));
  }
  // The certificate shows every source field: the agreement must let each
  // of them out, exactly as a profile would.
  for (const auto& src : t->sources()) {
    auto c = plan.classes.find(src.data_class());
    for (const std::string& field : src.fields()) {
      const bool covered = c != plan.classes.end() &&
                           std::find(c->second.mask.paths().begin(),
                                     c->second.mask.paths().end(),
                                     field) != c->second.mask.paths().end();
      if (!covered) {
        return deny(kRuleTemplateNotCovered,
                    absl::StrCat("certificate template ", t->id(),
                                 " shows field ", src.data_class(), ".", field,
                                 ", which sharing agreement ", agreement.id(),
                                 " does not cover"));
      }
    }
    const datarun::v1::DataClass* cls =
        catalog_.FindDataClass(src.data_class());
    const std::string& id = src.data_class();
    auto listed = [&id](const std::vector<std::string>& v) {
      return std::find(v.begin(), v.end(), id) != v.end();
    };
    if (agreement.consent_required() ||
        (cls != nullptr && cls->consent_required())) {
      // plan.profile_* hold exactly the disclosed classes' split between
      // consent and exemption; every source class is disclosed (covered).
      if (!listed(plan.profile_exempted) && !listed(g->consent_classes)) {
        g->consent_classes.push_back(id);
      }
    }
  }
  if (auto e = plan.template_exempted.find(t->id());
      e != plan.template_exempted.end()) {
    g->consent_exempted = &e->second;
  }
  g->certificate_template = t;
  g->read_classes = &template_read_.at(t->id());
}

}  // namespace datarun::policy
