// Stable ids of the policy's rules. A denial names one of them in
// QueryResponse.denial_rule and AuditEvent.rule (an allowed request names the
// sharing agreement instead); department systems and auditors match on these
// strings, so they never change meaning. docs/policy.md lists them.
#ifndef DATARUN_EXCHANGE_POLICY_RULES_H_
#define DATARUN_EXCHANGE_POLICY_RULES_H_

#include "absl/strings/string_view.h"

namespace datarun::policy {

// The request carries no key id or no signature.
inline constexpr absl::string_view kRuleUnsigned = "policy.unsigned";
// The signature does not verify under the named key of the requester, or
// the key is unknown or was not valid at requested_at.
inline constexpr absl::string_view kRuleBadSignature = "policy.bad_signature";
// requested_at is missing or too far from the exchange's clock.
inline constexpr absl::string_view kRuleStaleRequest = "policy.stale_request";
// The requesting department is not in the catalog.
inline constexpr absl::string_view kRuleUnknownRequester =
    "policy.unknown_requester";
// The matter is not in the catalog.
inline constexpr absl::string_view kRuleUnknownMatter = "policy.unknown_matter";
// A subject or on-behalf-of id is missing or invalid.
inline constexpr absl::string_view kRuleBadSubject = "policy.bad_subject";
// The query kind is not served by this exchange.
inline constexpr absl::string_view kRuleUnsupportedKind =
    "policy.unsupported_kind";
// The requester holds no sharing agreement for the matter.
inline constexpr absl::string_view kRuleNoAgreement = "policy.no_agreement";
// It holds one, but not valid at request time.
inline constexpr absl::string_view kRuleAgreementNotLive =
    "policy.agreement_not_live";
// The agreement covers no field of any class (nothing to disclose).
inline constexpr absl::string_view kRuleNothingCovered =
    "policy.nothing_covered";
// The identity assurance is below the matter's requirement.
inline constexpr absl::string_view kRuleAssuranceTooLow =
    "policy.assurance_too_low";
// On-behalf-of request for a matter that does not allow proxies.
inline constexpr absl::string_view kRuleProxyNotAllowed =
    "policy.proxy_not_allowed";
// No live delegation from the subject to the agent for the matter.
inline constexpr absl::string_view kRuleDelegationMissing =
    "policy.delegation_missing";
// No live consent of the subject for the requester, matter and classes.
inline constexpr absl::string_view kRuleConsentMissing =
    "policy.consent_missing";
// VERIFY: the predicate is not in the catalog.
inline constexpr absl::string_view kRuleUnknownPredicate =
    "policy.unknown_predicate";
// VERIFY: the agreement does not cover a class the predicate reads.
inline constexpr absl::string_view kRulePredicateNotCovered =
    "policy.predicate_not_covered";
// VERIFY: a required predicate parameter is missing, or an unknown one given.
inline constexpr absl::string_view kRuleBadParameter = "policy.bad_parameter";
// A multi-subject request where another subject was denied: all or nothing.
inline constexpr absl::string_view kRuleBatchDenied = "policy.batch_denied";
// CERTIFICATE: the template is not in the catalog.
inline constexpr absl::string_view kRuleUnknownTemplate =
    "policy.unknown_template";
// CERTIFICATE: the agreement does not cover a class or field the template
// draws on.
inline constexpr absl::string_view kRuleTemplateNotCovered =
    "policy.template_not_covered";
// DOSSIER: the agreement does not allow dossiers (allows_dossier).
inline constexpr absl::string_view kRuleDossierNotAllowed =
    "policy.dossier_not_allowed";

// Not policy but the exchange's own refusals to issue a sealed document,
// decided by the resolver after the policy allowed the request; audited like
// denials.
// CERTIFICATE: the subject has no record of a class the template needs (and
// whose absence the template does not certify), so there is nothing to
// certify; DOSSIER: no record of the subject in any of its classes.
inline constexpr absl::string_view kRuleNoRecord = "certificate.no_record";
// The exchange holds no seal (private key) of the department that must seal
// the document: the template's issuer, or the dossier department.
inline constexpr absl::string_view kRuleNoSeal = "document.no_seal";

}  // namespace datarun::policy

#endif  // DATARUN_EXCHANGE_POLICY_RULES_H_
