// The shipped catalog's matters, agreements and predicates pass the
// catalog checks, the policy's and the predicate evaluator's, and holds what
// the article promises.
#include <set>
#include <string>

#include "exchange/catalog/catalog.h"
#include "exchange/policy/catalog_overlay.h"
#include "exchange/policy/policy.h"
#include "exchange/resolver/predicate.h"
#include "exchange/seal/keyring.h"
#include "gtest/gtest.h"

namespace datarun::resolver {
namespace {

constexpr char kBase[] = "exchange/catalog/zhejiang.textproto";

absl::StatusOr<std::unique_ptr<const catalog::CatalogIndex>> LoadShipped() {
  auto catalog = catalog::LoadCatalog(kBase);
  if (!catalog.ok()) return catalog.status();
  return catalog::CatalogIndex::Create(*std::move(catalog));
}

TEST(ShippedCatalog, LoadsAndValidates) {
  auto index = LoadShipped();
  ASSERT_TRUE(index.ok()) << index.status();
  const auto& c = (*index)->catalog();
  EXPECT_GE(c.matters_size(), 30);
  EXPECT_GE(c.sharing_agreements_size(), c.matters_size());
  EXPECT_GE(c.verification_predicates_size(), 9);
  seal::SealKeyring keyring;
  auto policy = policy::Policy::Create(**index, keyring);
  ASSERT_TRUE(policy.ok()) << policy.status();
  EXPECT_TRUE(ValidatePredicates(**index).ok()) << ValidatePredicates(**index);

  // Every matter replaces paper and states its legal basis.
  int materials = 0;
  for (const auto& m : c.matters()) {
    EXPECT_FALSE(m.replaces_materials().empty()) << m.id();
    EXPECT_FALSE(m.legal_basis().empty()) << m.id();
    materials += m.replaces_materials_size();
  }
  EXPECT_GE(materials, 60);
}

TEST(ShippedCatalog, HasTheArticlesMattersAndPredicates) {
  auto index = LoadShipped();
  ASSERT_TRUE(index.ok()) << index.status();
  for (const char* m :
       {"urban_rural_pension_registration", "real_estate_transfer_registration",
        "court_case_filing", "low_income_assistance_application",
        "housing_fund_withdrawal", "household_transfer",
        "disability_subsidy_application", "business_registration"}) {
    EXPECT_NE((*index)->FindMatter(m), nullptr) << m;
  }
  std::set<std::string> predicates;
  for (const auto& p : (*index)->catalog().verification_predicates()) {
    predicates.insert(p.id());
  }
  for (const char* p :
       {"owns_real_estate", "owns_vehicle", "no_criminal_record",
        "receives_low_income_assistance", "holds_disability_certificate",
        "is_insured", "is_kin_of", "is_household_member_of",
        "is_legal_representative_of"}) {
    EXPECT_TRUE(predicates.count(p)) << p;
  }
  const auto* pension =
      (*index)->FindMatter("urban_rural_pension_registration");
  ASSERT_NE(pension, nullptr);
  EXPECT_TRUE(pension->allows_proxy());
}

TEST(ShippedCatalog, OverlayErrorsNameTheFileAndLine) {
  datarun::v1::Catalog base;
  auto r =
      policy::OverlayCatalog(base, "matters {\n  id: 1 2\n}\n", "m.textproto");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("m.textproto:2:"), std::string::npos)
      << r.status();
  r = policy::OverlayCatalog(base, "version: \"x\"\n", "m.textproto");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("must not set version"),
            std::string::npos);
}

}  // namespace
}  // namespace datarun::resolver
