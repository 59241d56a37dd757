#include "exchange/state/key_codec.h"

#include <algorithm>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace datarun::state {
namespace {

using Tuple = std::tuple<int32_t, std::string, std::string, std::string>;

TEST(KeyCodecTest, RoundTripsIncludingZeroBytes) {
  const std::string with_zero("a\0b", 3);
  for (const Tuple& t : std::vector<Tuple>{
           {0, "110101199003077777", "vehicle", "浙A12345"},
           {7, with_zero, "", with_zero},
           {65535, "", "c", ""},
       }) {
    std::string key = EncodeRecordKey(std::get<0>(t), std::get<1>(t),
                                      std::get<2>(t), std::get<3>(t));
    auto decoded = DecodeRecordKey(key);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->partition, std::get<0>(t));
    EXPECT_EQ(decoded->subject_id, std::get<1>(t));
    EXPECT_EQ(decoded->data_class, std::get<2>(t));
    EXPECT_EQ(decoded->record_key, std::get<3>(t));
  }
}

TEST(KeyCodecTest, ByteOrderEqualsTupleOrder) {
  // Strings chosen to trip naive encodings: prefixes of each other, zero
  // bytes, 0xff bytes, partitions that differ in the high byte.
  const std::vector<std::string> strings = {"",
                                            "A",
                                            "AB",
                                            "A\x01",
                                            std::string("A\0", 2),
                                            std::string("\0", 1),
                                            "\xff",
                                            "B",
                                            std::string("A\0\xff", 3)};
  const std::vector<int32_t> partitions = {0, 1, 255, 256, 70000};
  std::vector<Tuple> tuples;
  for (int32_t p : partitions) {
    for (const auto& s : strings) {
      for (const auto& c :
           {std::string("x"), std::string("x\0", 2), std::string("xy")}) {
        for (const auto& k : strings) tuples.emplace_back(p, s, c, k);
      }
    }
  }
  std::vector<std::pair<std::string, Tuple>> encoded;
  for (const auto& t : tuples) {
    encoded.emplace_back(EncodeRecordKey(std::get<0>(t), std::get<1>(t),
                                         std::get<2>(t), std::get<3>(t)),
                         t);
  }
  std::sort(encoded.begin(), encoded.end());
  std::sort(tuples.begin(), tuples.end());
  ASSERT_EQ(encoded.size(), tuples.size());
  for (size_t i = 0; i < tuples.size(); ++i) {
    EXPECT_EQ(encoded[i].second, tuples[i]) << "position " << i;
  }
}

TEST(KeyCodecTest, SubjectPrefixCoversOnlyThatSubject) {
  std::string ab = EncodeRecordKey(3, "AB", "c", "k");
  std::string a = EncodeRecordKey(3, "A", "c", "k");
  std::string prefix_a = EncodeSubjectPrefix(3, "A");
  EXPECT_EQ(a.compare(0, prefix_a.size(), prefix_a), 0);
  EXPECT_NE(ab.compare(0, prefix_a.size(), prefix_a), 0);
  EXPECT_EQ(SubjectPrefixLength(a), prefix_a.size());
  EXPECT_EQ(SubjectPrefixLength(std::string("\0\0\0\3A", 5)), 0u);
  // Zero bytes in the subject are escaped, not the end of the prefix.
  for (const std::string id : {std::string("A\0B", 3), std::string(1, '\0'),
                               std::string("\0\0\x01", 3)}) {
    const std::string key = EncodeRecordKey(0, id, "c", "k");
    EXPECT_EQ(SubjectPrefixLength(key), EncodeSubjectPrefix(0, id).size())
        << absl::CEscape(id);
    // Cut inside the subject, or right after an escape byte: no prefix.
    const std::string prefix = EncodeSubjectPrefix(0, id);
    for (size_t n = 0; n < prefix.size(); ++n) {
      EXPECT_EQ(SubjectPrefixLength(prefix.substr(0, n)), 0u)
          << absl::CEscape(id) << " cut at " << n;
    }
  }
  std::string class_prefix = EncodeClassPrefix(3, "A", "c");
  EXPECT_EQ(a.compare(0, class_prefix.size(), class_prefix), 0);
  EXPECT_NE(EncodeRecordKey(3, "A", "cd", "k")
                .compare(0, class_prefix.size(), class_prefix),
            0);
}

TEST(KeyCodecTest, RejectsMalformedKeysWithReason) {
  auto short_key = DecodeRecordKey("ab");
  EXPECT_FALSE(short_key.ok());
  EXPECT_NE(short_key.status().message().find("partition"), std::string::npos);
  auto unterminated = DecodeRecordKey(std::string("\0\0\0\1abc", 7));
  EXPECT_FALSE(unterminated.ok());
  EXPECT_NE(unterminated.status().message().find("subject id"),
            std::string::npos);
  std::string trailing = EncodeRecordKey(1, "s", "c", "k") + "x";
  EXPECT_FALSE(DecodeRecordKey(trailing).ok());
}

TEST(KeyCodecTest, OffsetKeysRoundTrip) {
  std::string key = EncodeOffsetKey("dr.data.police.household", 12);
  auto tp = DecodeOffsetKey(key);
  ASSERT_TRUE(tp.ok()) << tp.status();
  EXPECT_EQ(tp->topic, "dr.data.police.household");
  EXPECT_EQ(tp->partition, 12);
  EXPECT_FALSE(DecodeOffsetKey(key.substr(0, key.size() - 1)).ok());
}

}  // namespace
}  // namespace datarun::state
