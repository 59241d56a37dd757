#include "exchange/policy/field_mask.h"

#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "proto/datarun/v1/departments/natural_resources.pb.h"

namespace datarun::policy {
namespace {

using datarun::v1::departments::RealEstateTitle;

RealEstateTitle FullTitle() {
  RealEstateTitle t;
  t.set_title_number("浙(2025)杭州市不动产权第0001号");
  t.set_unit_number("330106001001GB00001F00010001");
  t.mutable_address()->set_region_code("330106");
  t.mutable_address()->set_city("杭州市");
  t.mutable_address()->set_detail("文三路 1 号 1 幢 101");
  t.set_use(datarun::v1::departments::PROPERTY_USE_RESIDENTIAL);
  t.set_floor_area_centi_sqm(8950);
  t.set_share_bp(5000);
  t.add_co_owners()->set_id("330106198001010011");
  auto* e = t.add_encumbrances();
  e->set_type(datarun::v1::departments::ENCUMBRANCE_TYPE_MORTGAGE);
  e->set_holder("某银行");
  e->set_amount_fen(100000000);
  e->set_certificate_number("浙(2025)杭州市不动产证明第0002号");
  auto* e2 = t.add_encumbrances();
  e2->set_type(datarun::v1::departments::ENCUMBRANCE_TYPE_SEIZURE);
  e2->set_holder("某法院");
  e2->set_amount_fen(5);
  t.mutable_registered_at()->set_seconds(1700000000);
  t.mutable_land_use_until()->set_year(2090);
  return t;
}

TEST(FieldMask, TopLevelFieldsKeptWholeOthersCleared) {
  auto mask = FieldMask::Create(RealEstateTitle::descriptor(),
                                {"title_number", "address", "encumbrances"});
  ASSERT_TRUE(mask.ok()) << mask.status();
  RealEstateTitle t = FullTitle();
  mask->Apply(&t);
  EXPECT_EQ(t.title_number(), FullTitle().title_number());
  EXPECT_EQ(t.address().detail(), "文三路 1 号 1 幢 101");
  EXPECT_EQ(t.address().city(), "杭州市");
  ASSERT_EQ(t.encumbrances_size(), 2);
  EXPECT_EQ(t.encumbrances(0).amount_fen(), 100000000);
  EXPECT_TRUE(t.unit_number().empty());
  EXPECT_EQ(t.use(), datarun::v1::departments::PROPERTY_USE_UNSPECIFIED);
  EXPECT_EQ(t.floor_area_centi_sqm(), 0);
  EXPECT_EQ(t.share_bp(), 0);
  EXPECT_EQ(t.co_owners_size(), 0);
  EXPECT_FALSE(t.has_registered_at());
  EXPECT_FALSE(t.has_land_use_until());
}

TEST(FieldMask, NestedPathsClearSiblingsRecursively) {
  auto mask = FieldMask::Create(
      RealEstateTitle::descriptor(),
      {"address.region_code", "encumbrances.type", "encumbrances.holder"});
  ASSERT_TRUE(mask.ok()) << mask.status();
  RealEstateTitle t = FullTitle();
  mask->Apply(&t);
  EXPECT_EQ(t.address().region_code(), "330106");
  EXPECT_TRUE(t.address().city().empty());
  EXPECT_TRUE(t.address().detail().empty());
  ASSERT_EQ(t.encumbrances_size(), 2);
  for (const auto& e : t.encumbrances()) {
    EXPECT_NE(e.type(), datarun::v1::departments::ENCUMBRANCE_TYPE_UNSPECIFIED);
    EXPECT_FALSE(e.holder().empty());
    EXPECT_EQ(e.amount_fen(), 0);
    EXPECT_TRUE(e.certificate_number().empty());
  }
  EXPECT_TRUE(t.title_number().empty());
}

TEST(FieldMask, WholeAncestorWinsOverNestedPath) {
  for (auto paths : {std::vector<std::string>{"address", "address.city"},
                     std::vector<std::string>{"address.city", "address"}}) {
    auto mask = FieldMask::Create(RealEstateTitle::descriptor(), paths);
    ASSERT_TRUE(mask.ok());
    RealEstateTitle t = FullTitle();
    mask->Apply(&t);
    EXPECT_EQ(t.address().detail(), "文三路 1 号 1 幢 101");
    EXPECT_EQ(t.address().city(), "杭州市");
  }
}

TEST(FieldMask, EmptyMaskClearsEverythingIncludingUnknownFields) {
  auto mask = FieldMask::Create(RealEstateTitle::descriptor(), {});
  ASSERT_TRUE(mask.ok());
  RealEstateTitle t = FullTitle();
  t.GetReflection()->MutableUnknownFields(&t)->AddVarint(999, 42);
  mask->Apply(&t);
  EXPECT_EQ(t.ByteSizeLong(), 0u);
}

TEST(FieldMask, BadPathsNamed) {
  auto m = FieldMask::Create(RealEstateTitle::descriptor(), {"owner"});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("no field \"owner\""), std::string::npos)
      << m.status();
  m = FieldMask::Create(RealEstateTitle::descriptor(), {"title_number.x"});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("not a message field"), std::string::npos)
      << m.status();
  m = FieldMask::Create(RealEstateTitle::descriptor(), {"address.zip"});
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("Address has no field \"zip\""),
            std::string::npos)
      << m.status();
}

// FilterWire must give what Apply gives, for every kind of mask.
TEST(FieldMask, FilterWireMatchesApply) {
  const std::vector<std::vector<std::string>> masks = {
      {},
      {"title_number", "address", "encumbrances"},
      {"address.region_code", "encumbrances.type", "encumbrances.holder"},
      {"address.city", "address"},
      {"co_owners.id", "floor_area_centi_sqm", "use", "registered_at"},
      {"land_use_until.year", "share_bp"},
  };
  RealEstateTitle full = FullTitle();
  // Unknown fields: dropped at the root and inside a partly kept
  // sub-message, kept inside one kept whole.
  full.GetReflection()->MutableUnknownFields(&full)->AddVarint(999, 42);
  full.mutable_address()
      ->GetReflection()
      ->MutableUnknownFields(full.mutable_address())
      ->AddLengthDelimited(777, "secret");
  const std::string wire = full.SerializeAsString();
  for (const auto& paths : masks) {
    auto mask = FieldMask::Create(RealEstateTitle::descriptor(), paths);
    ASSERT_TRUE(mask.ok()) << mask.status();
    RealEstateTitle applied = full;
    mask->Apply(&applied);
    std::string out;
    ASSERT_TRUE(mask->FilterWire(wire, &out));
    RealEstateTitle filtered;
    ASSERT_TRUE(filtered.ParseFromString(out));
    EXPECT_TRUE(
        google::protobuf::util::MessageDifferencer::Equals(applied, filtered))
        << "mask " << paths.size() << ":\n"
        << applied.DebugString() << "vs\n"
        << filtered.DebugString();
    // Both keep unknown fields only inside a sub-message kept whole.
    EXPECT_EQ(out.find("secret") == std::string::npos,
              applied.SerializeAsString().find("secret") == std::string::npos);
  }
}

TEST(FieldMask, FilterWireDropsKnownFieldWithWrongWireType) {
  auto mask = FieldMask::Create(RealEstateTitle::descriptor(),
                                {"title_number", "share_bp"});
  ASSERT_TRUE(mask.ok());
  // title_number (field 1, a string) sent as a varint: the parser keeps it
  // as an unknown field, which Apply clears.
  RealEstateTitle t;
  t.set_share_bp(5000);
  std::string wire = t.SerializeAsString();
  wire.push_back(static_cast<char>((1 << 3) | 0));
  wire.push_back(7);
  std::string out;
  ASSERT_TRUE(mask->FilterWire(wire, &out));
  RealEstateTitle filtered;
  ASSERT_TRUE(filtered.ParseFromString(out));
  EXPECT_EQ(filtered.share_bp(), 5000);
  EXPECT_TRUE(filtered.title_number().empty());
  EXPECT_EQ(filtered.GetReflection()->GetUnknownFields(filtered).field_count(),
            0);
}

TEST(FieldMask, FilterWireRejectsMalformedInput) {
  auto mask = FieldMask::Create(RealEstateTitle::descriptor(), {"address"});
  ASSERT_TRUE(mask.ok());
  const std::string wire = FullTitle().SerializeAsString();
  std::string out;
  EXPECT_FALSE(mask->FilterWire(wire.substr(0, wire.size() - 3), &out));
  out.clear();
  EXPECT_FALSE(mask->FilterWire(std::string("\x0a\x7f", 2), &out));
  out.clear();
  EXPECT_FALSE(mask->FilterWire(std::string("\x0b\x0c", 2), &out));  // group
}

}  // namespace
}  // namespace datarun::policy
