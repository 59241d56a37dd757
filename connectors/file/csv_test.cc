#include "connectors/file/csv.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::connectors {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CsvTest, SplitsPlainQuotedAndEscapedFields) {
  std::string in = "a,\"b,c\",\"say \"\"hi\"\"\",\"two\nlines\",\r\nnext,row\n";
  size_t consumed = 0;
  std::vector<std::string> f;
  std::string err;
  ASSERT_EQ(ParseCsvRecord(in, true, &consumed, &f, &err), CsvResult::kRecord);
  EXPECT_THAT(f, ElementsAre("a", "b,c", "say \"hi\"", "two\nlines", ""));
  EXPECT_EQ(in.substr(consumed), "next,row\n");
  absl::string_view rest = absl::string_view(in).substr(consumed);
  ASSERT_EQ(ParseCsvRecord(rest, true, &consumed, &f, &err),
            CsvResult::kRecord);
  EXPECT_THAT(f, ElementsAre("next", "row"));
  EXPECT_EQ(ParseCsvRecord(rest.substr(consumed), true, &consumed, &f, &err),
            CsvResult::kEnd);
}

TEST(CsvTest, AsksForMoreInsteadOfGuessing) {
  size_t consumed = 0;
  std::vector<std::string> f;
  std::string err;
  EXPECT_EQ(ParseCsvRecord("a,b", false, &consumed, &f, &err),
            CsvResult::kNeedMore);
  EXPECT_EQ(ParseCsvRecord("a,\"b\nc", false, &consumed, &f, &err),
            CsvResult::kNeedMore);
  EXPECT_EQ(ParseCsvRecord("a,\"b\"", false, &consumed, &f, &err),
            CsvResult::kNeedMore);  // could be "" escape
  EXPECT_EQ(ParseCsvRecord("a,b\r", false, &consumed, &f, &err),
            CsvResult::kNeedMore);
  ASSERT_EQ(ParseCsvRecord("a,b", true, &consumed, &f, &err),
            CsvResult::kRecord);  // last record without newline
  EXPECT_THAT(f, ElementsAre("a", "b"));
  EXPECT_EQ(consumed, 3u);
}

TEST(CsvTest, BrokenQuotingSkipsOnlyThatLine) {
  size_t consumed = 0;
  std::vector<std::string> f;
  std::string err;
  std::string in = "a,b\"c,d\nok,1\n";
  ASSERT_EQ(ParseCsvRecord(in, true, &consumed, &f, &err), CsvResult::kBroken);
  EXPECT_THAT(err, HasSubstr("field 2: quote inside an unquoted field"));
  EXPECT_EQ(in.substr(consumed), "ok,1\n");

  in = "\"a\"x,b\nok,1\n";
  ASSERT_EQ(ParseCsvRecord(in, true, &consumed, &f, &err), CsvResult::kBroken);
  EXPECT_THAT(err, HasSubstr("field 1: text after the closing quote"));
  EXPECT_EQ(in.substr(consumed), "ok,1\n");

  in = "a,\"never closed\n";
  ASSERT_EQ(ParseCsvRecord(in, true, &consumed, &f, &err), CsvResult::kBroken);
  EXPECT_THAT(err, HasSubstr("unterminated quoted field 2"));
  EXPECT_EQ(consumed, in.size());
}

TEST(CsvTest, SkipsBlankLines) {
  size_t consumed = 0;
  std::vector<std::string> f;
  std::string err;
  ASSERT_EQ(ParseCsvRecord("\n\r\nx\n", true, &consumed, &f, &err),
            CsvResult::kRecord);
  EXPECT_THAT(f, ElementsAre("x"));
  EXPECT_EQ(consumed, 5u);
}

TEST(Utf8Test, AcceptsValidRejectsInvalid) {
  size_t bad = 0;
  EXPECT_TRUE(IsValidUtf8("plain 浙江省 \xF0\x9F\x98\x80", &bad));
  EXPECT_FALSE(IsValidUtf8("ab\xFFz", &bad));
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF", &bad));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80", &bad));  // surrogate
  EXPECT_FALSE(IsValidUtf8("x\xE6\xB5", &bad));     // truncated
  EXPECT_EQ(bad, 1u);
}

TEST(GbkTest, ConvertsToUtf8) {
  // "浙江" in GBK is D5 E3 BD AD.
  auto utf8 = GbkToUtf8("a\xD5\xE3\xBD\xAD");
  ASSERT_TRUE(utf8.ok()) << utf8.status();
  EXPECT_EQ(*utf8, "a浙江");
  auto bad = GbkToUtf8("ab\xD5");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("byte 2"));
}

}  // namespace
}  // namespace datarun::connectors
