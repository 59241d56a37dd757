#include "exchange/policy/policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/proto_time.h"
#include "common/status_macros.h"
#include "exchange/policy/rules.h"
#include "exchange/seal/signed_bytes.h"
#include "exchange/subject/subject_id.h"
#include "google/protobuf/message.h"
#include "google/protobuf/util/time_util.h"
#include "proto/datarun/v1/departments/big_data_bureau.pb.h"

namespace datarun::policy {

using datarun::v1::Catalog;
using datarun::v1::Matter;
using datarun::v1::QueryRequest;
using datarun::v1::Record;
using datarun::v1::SharingAgreement;
using datarun::v1::Subject;
using datarun::v1::VerificationPredicate;
using datarun::v1::departments::ConsentGrant;
using datarun::v1::departments::Delegation;

namespace {

bool IsSet(const google::protobuf::Timestamp& ts) {
  return ts.seconds() != 0 || ts.nanos() != 0;
}

// [from, until) with an unset bound open.
bool Within(absl::Time now, const google::protobuf::Timestamp& from,
            const google::protobuf::Timestamp& until) {
  if (IsSet(from) && now < FromProtoTime(from)) return false;
  if (IsSet(until) && now >= FromProtoTime(until)) return false;
  return true;
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list,
              absl::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

}  // namespace

Decision Decision::Allow(std::string agreement_id) {
  Decision d;
  d.allowed = true;
  d.rule = std::move(agreement_id);
  return d;
}

Decision Decision::Deny(absl::string_view rule, std::string message) {
  Decision d;
  d.rule = std::string(rule);
  d.message = std::move(message);
  return d;
}

absl::StatusOr<std::unique_ptr<Policy>> Policy::Create(
    const catalog::CatalogIndex& catalog, const seal::SealKeyring& keyring,
    PolicyOptions options) {
  std::unique_ptr<Policy> policy(new Policy(catalog, keyring, options));
  const Catalog& c = catalog.catalog();
  for (const SharingAgreement& a : c.sharing_agreements()) {
    auto plan = std::make_unique<AgreementPlan>();
    plan->agreement = &a;
    plan->matter = catalog.FindMatter(a.matter());
    if (plan->matter == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("sharing agreement ", a.id(), ": unknown matter \"",
                       a.matter(), "\""));
    }
    for (const auto& ac : a.classes()) {
      ClassGrant g;
      g.data_class = catalog.FindDataClass(ac.data_class());
      g.payload = catalog.PayloadDescriptor(ac.data_class());
      if (g.payload != nullptr) {
        g.prototype =
            google::protobuf::MessageFactory::generated_factory()->GetPrototype(
                g.payload);
      }
      if (g.data_class == nullptr || g.prototype == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("sharing agreement ", a.id(),
                         ": unknown data class \"", ac.data_class(), "\""));
      }
      g.type_url = absl::StrCat("type.googleapis.com/", g.payload->full_name());
      std::vector<std::string> paths(ac.fields().begin(), ac.fields().end());
      auto mask = FieldMask::Create(g.payload, paths);
      if (!mask.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("sharing agreement ", a.id(), ", class ",
                         ac.data_class(), ": ", mask.status().message()));
      }
      g.mask = std::move(*mask);
      if (!g.mask.empty()) {
        plan->profile_read.insert(ac.data_class());
        // The catalog checker refuses an exemption in an agreement that
        // requires consent, so agreement-level consent is never exempted.
        const bool exempt =
            !a.consent_required() &&
            Contains(a.consent_exempt_classes(), ac.data_class());
        if (a.consent_required() ||
            (g.data_class->consent_required() && !exempt)) {
          plan->profile_consent.push_back(ac.data_class());
        } else if (g.data_class->consent_required()) {
          plan->profile_exempted.push_back(ac.data_class());
        }
      }
      plan->classes.emplace(ac.data_class(), std::move(g));
    }
    for (const std::string& cls : plan->matter->data_classes()) {
      if (plan->profile_read.contains(cls)) {
        plan->dossier_classes.push_back(cls);
      }
    }
    for (const auto& t : c.certificate_templates()) {
      for (const auto& src : t.sources()) {
        if (std::find(plan->profile_exempted.begin(),
                      plan->profile_exempted.end(),
                      src.data_class()) != plan->profile_exempted.end()) {
          plan->template_exempted[t.id()].push_back(src.data_class());
        }
      }
    }
    plan->profile_read.insert(std::string(kConsentClass));
    plan->profile_read.insert(std::string(kDelegationClass));
    policy->plans_[{a.consumer_department(), a.matter()}].push_back(
        std::move(plan));
  }
  for (const VerificationPredicate& p : c.verification_predicates()) {
    if (!policy->predicates_.emplace(p.id(), &p).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("verification predicate ", p.id(), " is defined twice"));
    }
    auto& read = policy->predicate_read_[p.id()];
    read.insert(std::string(kConsentClass));
    read.insert(std::string(kDelegationClass));
    for (const auto& cls : p.data_classes()) read.insert(cls);
    for (const auto& cond : p.conditions()) read.insert(cond.data_class());
    for (const auto& cls : read) {
      if (catalog.FindDataClass(cls) == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat("verification predicate ", p.id(),
                         ": unknown data class \"", cls, "\""));
      }
    }
  }
  for (const auto& t : c.certificate_templates()) {
    if (!policy->templates_.emplace(t.id(), &t).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("certificate template ", t.id(), " is defined twice"));
    }
    auto& read = policy->template_read_[t.id()];
    read.insert(std::string(kConsentClass));
    read.insert(std::string(kDelegationClass));
    for (const auto& src : t.sources()) read.insert(src.data_class());
  }
  return policy;
}

const datarun::v1::CertificateTemplate* Policy::FindTemplate(
    absl::string_view id) const {
  auto it = templates_.find(id);
  return it == templates_.end() ? nullptr : it->second;
}

const VerificationPredicate* Policy::FindPredicate(absl::string_view id) const {
  auto it = predicates_.find(id);
  return it == predicates_.end() ? nullptr : it->second;
}

Decision Policy::CheckSignature(const QueryRequest& request) const {
  if (request.key_id().empty() || request.signature().empty()) {
    return Decision::Deny(kRuleUnsigned,
                          absl::StrCat("request ", request.request_id(), " of ",
                                       request.requester_department(),
                                       " is not signed (key_id and signature "
                                       "are required)"));
  }
  const datarun::v1::Department* dept =
      catalog_.FindDepartment(request.requester_department());
  const datarun::v1::SealKey* key = nullptr;
  for (const auto& k : dept->seal_keys()) {
    if (k.key_id() == request.key_id()) key = &k;
  }
  if (key == nullptr) {
    return Decision::Deny(
        kRuleBadSignature,
        absl::StrCat("seal key \"", request.key_id(), "\" is not a key of ",
                     request.requester_department(), " in the catalog"));
  }
  QueryRequest unsigned_request = request;
  unsigned_request.clear_signature();
  auto bytes = seal::SignedBytes(unsigned_request, seal::kPurposeRequest);
  absl::Status st = bytes.status();
  if (st.ok()) {
    st = keyring_.Verify(
        request.requester_department(), request.key_id(),
        static_cast<seal::SealAlgorithm>(static_cast<int>(key->algorithm())),
        FromProtoTime(request.requested_at()), *bytes, request.signature());
  }
  if (!st.ok()) {
    return Decision::Deny(
        kRuleBadSignature,
        absl::StrCat("signature of request ", request.request_id(), " by ",
                     request.requester_department(), "/", request.key_id(),
                     " does not verify: ", st.message()));
  }
  return Decision::Allow("");
}

RequestGrant Policy::CheckRequest(const QueryRequest& request,
                                  absl::Time now) const {
  RequestGrant g;
  auto deny = [&g](absl::string_view rule, std::string message) {
    g.decision = Decision::Deny(rule, std::move(message));
    return g;
  };
  const std::string& dept = request.requester_department();
  if (catalog_.FindDepartment(dept) == nullptr) {
    return deny(
        kRuleUnknownRequester,
        absl::StrCat("requester_department \"", dept,
                     "\" is not a department of catalog ", catalog_.version()));
  }
  if (options_.verify_signatures) {
    if (Decision sig = CheckSignature(request); !sig.allowed) {
      g.decision = std::move(sig);
      return g;
    }
  }
  if (!request.has_requested_at()) {
    return deny(kRuleStaleRequest, "requested_at is not set");
  }
  const absl::Duration skew =
      absl::AbsDuration(now - FromProtoTime(request.requested_at()));
  if (skew > options_.max_clock_skew) {
    return deny(
        kRuleStaleRequest,
        absl::StrCat("requested_at is ", absl::FormatDuration(skew),
                     " away from the exchange clock (limit ",
                     absl::FormatDuration(options_.max_clock_skew), ")"));
  }
  const Matter* matter = catalog_.FindMatter(request.matter());
  if (matter == nullptr) {
    return deny(kRuleUnknownMatter,
                absl::StrCat("matter \"", request.matter(),
                             "\" is not in catalog ", catalog_.version()));
  }
  if (request.subjects().empty()) {
    return deny(kRuleBadSubject, "request names no subject");
  }
  for (int i = 0; i < request.subjects_size(); ++i) {
    auto id = subject::SubjectIdFromProto(request.subjects(i), now);
    if (!id.ok()) {
      return deny(kRuleBadSubject,
                  absl::StrCat("subjects[", i, "] \"", request.subjects(i).id(),
                               "\": ", id.status().message()));
    }
  }
  const bool proxy =
      request.has_on_behalf_of() && !request.on_behalf_of().id().empty();
  if (proxy) {
    auto id = subject::SubjectIdFromProto(request.on_behalf_of(), now);
    if (!id.ok()) {
      return deny(kRuleBadSubject,
                  absl::StrCat("on_behalf_of \"", request.on_behalf_of().id(),
                               "\": ", id.status().message()));
    }
  }
  // The agreement: deny by default.
  auto it = plans_.find(std::make_pair(dept, request.matter()));
  if (it == plans_.end()) {
    return deny(kRuleNoAgreement,
                absl::StrCat(dept, " holds no sharing agreement for matter ",
                             request.matter()));
  }
  const AgreementPlan* plan = nullptr;
  for (const auto& p : it->second) {
    if (Within(now, p->agreement->valid_from(), p->agreement->valid_until())) {
      plan = p.get();
      break;
    }
  }
  if (plan == nullptr) {
    return deny(
        kRuleAgreementNotLive,
        absl::StrCat("sharing agreement ", it->second[0]->agreement->id(),
                     " of ", dept, " for matter ", request.matter(),
                     " is not valid at the request time"));
  }
  if (matter->required_assurance() > request.identity_assurance()) {
    return deny(
        kRuleAssuranceTooLow,
        absl::StrCat(
            "matter ", matter->id(), " requires ",
            datarun::v1::IdentityAssurance_Name(matter->required_assurance()),
            ", request has ",
            datarun::v1::IdentityAssurance_Name(request.identity_assurance())));
  }
  if (proxy && !matter->allows_proxy()) {
    return deny(
        kRuleProxyNotAllowed,
        absl::StrCat("matter ", matter->id(),
                     " may not be handled on behalf of another person"));
  }
  g.plan = plan;
  switch (request.kind()) {
    case datarun::v1::QUERY_KIND_PROFILE:
      if (plan->profile_read.size() <= 2) {  // only the gating classes
        return deny(kRuleNothingCovered,
                    absl::StrCat("sharing agreement ", plan->agreement->id(),
                                 " covers no field to disclose"));
      }
      g.consent_classes = plan->profile_consent;
      if (!plan->profile_exempted.empty()) {
        g.consent_exempted = &plan->profile_exempted;
      }
      g.read_classes = &plan->profile_read;
      break;
    case datarun::v1::QUERY_KIND_VERIFY: {
      const VerificationPredicate* p = FindPredicate(request.predicate_id());
      if (p == nullptr) {
        return deny(
            kRuleUnknownPredicate,
            absl::StrCat("verification predicate \"", request.predicate_id(),
                         "\" is not in catalog ", catalog_.version()));
      }
      for (const auto& cls : predicate_read_.at(p->id())) {
        if (cls == kConsentClass || cls == kDelegationClass) continue;
        auto c = plan->classes.find(cls);
        if (c == plan->classes.end()) {
          return deny(kRulePredicateNotCovered,
                      absl::StrCat("predicate ", p->id(), " reads class ", cls,
                                   ", which sharing agreement ",
                                   plan->agreement->id(), " does not cover"));
        }
        // A verification discloses no payload, so only an agreement that
        // itself requires consent needs one here; a class's own flag
        // governs disclosure (PROFILE).
        if (plan->agreement->consent_required()) {
          g.consent_classes.push_back(cls);
        }
      }
      std::sort(g.consent_classes.begin(), g.consent_classes.end());
      for (const auto& param : p->parameters()) {
        if (param.required() && !request.parameters().contains(param.name())) {
          return deny(
              kRuleBadParameter,
              absl::StrCat("predicate ", p->id(), " requires parameter \"",
                           param.name(), "\" (", param.description(), ")"));
        }
      }
      for (const auto& [name, value] : request.parameters()) {
        bool known = false;
        for (const auto& param : p->parameters()) known |= param.name() == name;
        if (!known) {
          return deny(kRuleBadParameter,
                      absl::StrCat("predicate ", p->id(),
                                   " has no parameter \"", name, "\""));
        }
      }
      g.predicate = p;
      g.read_classes = &predicate_read_.at(p->id());
      break;
    }
    case datarun::v1::QUERY_KIND_CERTIFICATE:
    case datarun::v1::QUERY_KIND_DOSSIER:
      CheckDocumentKind(request, &g);
      if (!g.decision.rule.empty()) return g;  // denied
      break;
    default:
      return deny(kRuleUnsupportedKind,
                  absl::StrCat("query kind ",
                               datarun::v1::QueryKind_Name(request.kind()),
                               " is not served by the resolver"));
  }
  g.decision = Decision::Allow(plan->agreement->id());
  return g;
}

Decision Policy::CheckSubject(const RequestGrant& grant,
                              const QueryRequest& request,
                              const Subject& subject,
                              const std::vector<Record>& gating,
                              absl::Time now) const {
  if (!grant.decision.allowed) return grant.decision;
  const std::string& matter = request.matter();
  const bool proxy =
      request.has_on_behalf_of() && !request.on_behalf_of().id().empty();
  if (proxy) {
    bool live = false;
    Delegation d;
    for (const Record& r : gating) {
      if (r.data_class() != kDelegationClass || !r.payload().UnpackTo(&d)) {
        continue;
      }
      if (d.agent().id() == request.on_behalf_of().id() &&
          Contains(d.matters(), matter) && !IsSet(d.revoked_at()) &&
          Within(now, d.valid_from(), d.valid_until())) {
        live = true;
        break;
      }
    }
    if (!live) {
      return Decision::Deny(
          kRuleDelegationMissing,
          absl::StrCat("subject ", subject.id(),
                       " has no live delegation to agent ",
                       request.on_behalf_of().id(), " for matter ", matter));
    }
  }
  if (!grant.consent_classes.empty()) {
    bool live = false;
    ConsentGrant c;
    for (const Record& r : gating) {
      if (r.data_class() != kConsentClass || !r.payload().UnpackTo(&c)) {
        continue;
      }
      if (!request.consent_reference().empty() &&
          r.record_key() != request.consent_reference() &&
          c.consent_id() != request.consent_reference()) {
        continue;
      }
      if (c.grantee_department() != request.requester_department() ||
          !Contains(c.matters(), matter) || IsSet(c.revoked_at()) ||
          !Within(now, c.granted_at(), c.expires_at())) {
        continue;
      }
      bool covers = true;
      if (!c.data_classes().empty()) {
        for (const auto& cls : grant.consent_classes) {
          covers &= Contains(c.data_classes(), cls);
        }
      }
      if (covers) {
        live = true;
        break;
      }
    }
    if (!live) {
      return Decision::Deny(
          kRuleConsentMissing,
          absl::StrCat(
              "subject ", subject.id(), " has no live consent",
              request.consent_reference().empty()
                  ? ""
                  : absl::StrCat(" \"", request.consent_reference(), "\""),
              " for ", request.requester_department(), ", matter ", matter,
              ", classes ", absl::StrJoin(grant.consent_classes, ",")));
    }
  }
  return grant.decision;
}

absl::Status SignRequest(const seal::Signer& signer, QueryRequest* request) {
  request->set_key_id(signer.key_id());
  request->clear_signature();
  ASSIGN_OR_RETURN(std::string sig,
                   seal::SealMessage(signer, *request, seal::kPurposeRequest));
  request->set_signature(std::move(sig));
  return absl::OkStatus();
}

}  // namespace datarun::policy
