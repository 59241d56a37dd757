// Catalog load checks of the statutory consent exemption
// (SharingAgreement.consent_exempt_classes): the shipped court-filing
// agreement passes; each way of widening an exemption beyond what a named
// law compels is refused with the file, line and reason.
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "exchange/catalog/catalog.h"
#include "gtest/gtest.h"

namespace datarun::catalog {
namespace {

constexpr char kShipped[] = "exchange/catalog/zhejiang.textproto";
constexpr char kCourtBasis[] =
    R"(legal_basis: "《中华人民共和国民事诉讼法》第一百二十四条、第七十条)";
constexpr char kExempt[] = R"(consent_exempt_classes: "real_estate_title")";

std::string ShippedText() {
  std::ifstream in(kShipped);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The shipped catalog with `from` (which must occur exactly once) replaced.
absl::StatusOr<datarun::v1::Catalog> LoadEdited(const std::string& name,
                                                const std::string& from,
                                                const std::string& to) {
  std::string text = ShippedText();
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from;
  text.replace(at, from.size(), to);
  std::string path = absl::StrCat(std::getenv("TEST_TMPDIR"), "/", name);
  std::ofstream(path) << text;
  return LoadCatalog(path);
}

TEST(ConsentExemptionTest, ShippedCourtFilingAgreementExemptsRealEstate) {
  auto c = LoadCatalog(kShipped);
  ASSERT_TRUE(c.ok()) << c.status();
  int exempting = 0;
  for (const auto& a : c->sharing_agreements()) {
    if (a.consent_exempt_classes().empty()) continue;
    ++exempting;
    EXPECT_EQ(a.id(), "ag_court_case_filing");
    EXPECT_EQ(a.consent_exempt_classes(0), "real_estate_title");
    EXPECT_TRUE(a.allows_dossier());
  }
  EXPECT_EQ(exempting, 1);
}

TEST(ConsentExemptionTest, NeedsAStatuteNamedInTheLegalBasis) {
  auto c = LoadEdited("nolaw.textproto", kCourtBasis,
                      R"(legal_basis: "法院与自然资源局协议第7号)");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("nolaw.textproto:"), std::string::npos)
      << c.status();
  EXPECT_NE(c.status().message().find("ag_court_case_filing"),
            std::string::npos);
  EXPECT_NE(c.status().message().find("needs a statutory basis"),
            std::string::npos)
      << c.status();
}

TEST(ConsentExemptionTest, OnlyConsentRequiredClassesTheAgreementDiscloses) {
  // household_registration is disclosed but needs no consent.
  auto c = LoadEdited(
      "notconsent.textproto", kExempt,
      absl::StrCat(kExempt,
                   R"( consent_exempt_classes: "household_registration")"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(
                "\"household_registration\", which is not consent_required"),
            std::string::npos)
      << c.status();
  // housing_fund_account needs consent but the agreement does not cover it.
  c = LoadEdited(
      "notcovered.textproto", kExempt,
      absl::StrCat(kExempt,
                   R"( consent_exempt_classes: "housing_fund_account")"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("which the agreement does not disclose"),
            std::string::npos)
      << c.status();
  c = LoadEdited("unknown.textproto", kExempt,
                 R"(consent_exempt_classes: "bank_deposits")");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("not a data class of the catalog"),
            std::string::npos)
      << c.status();
}

TEST(ConsentExemptionTest, ContradictsAnAgreementThatRequiresConsent) {
  auto c = LoadEdited("contradiction.textproto", kExempt,
                      absl::StrCat(kExempt, " consent_required: true"));
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("contradicts consent_required"),
            std::string::npos)
      << c.status();
}

}  // namespace
}  // namespace datarun::catalog
