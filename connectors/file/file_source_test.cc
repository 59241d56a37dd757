#include "connectors/file/file_source.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace datarun::connectors {
namespace {

using ::testing::HasSubstr;
namespace v1 = datarun::connectors::v1;

class FileSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    dir_ = absl::StrCat(
        tmp ? tmp : "/tmp", "/drop_",
        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    mkdir(dir_.c_str(), 0755);
    config_.set_drop_dir(dir_);
  }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(absl::StrCat(dir_, "/", name), std::ios::binary) << content;
  }
  bool Exists(const std::string& rel) {
    return access(absl::StrCat(dir_, "/", rel).c_str(), F_OK) == 0;
  }
  std::string Column(const Row& row, const std::string& name) {
    for (const auto& [k, v] : row.columns) {
      if (k == name) return v;
    }
    return "<none>";
  }
  // Reads every row available now.
  std::vector<Row> Drain(Source& source) {
    std::vector<Row> rows;
    Row row;
    while (true) {
      auto got = source.Next(&row);
      EXPECT_TRUE(got.ok()) << got.status();
      if (!got.ok() || !*got) break;
      rows.push_back(row);
      row = Row();
    }
    return rows;
  }

  std::string dir_;
  v1::FileSourceConfig config_;
};

TEST_F(FileSourceTest, ReadsFilesInOrderAndMovesCommittedOnesToDone) {
  Write("b.csv", "id,name\n3,c\n");
  Write("a.csv", "id,name\n1,\"a, x\"\n2,b\n");
  Write(".hidden.csv", "id\n9\n");
  auto source = FileSource::Create(config_, v1::FORMAT_CSV);
  ASSERT_TRUE(source.ok()) << source.status();
  std::vector<Row> rows = Drain(**source);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(Column(rows[0], "name"), "a, x");
  EXPECT_EQ(rows[0].location, "a.csv:2");
  EXPECT_EQ(Column(rows[2], "id"), "3");
  EXPECT_FALSE((*source)->Idle());
  ASSERT_TRUE((*source)->Commit(rows[1].position).ok());
  EXPECT_TRUE(Exists(".done/a.csv"));
  EXPECT_TRUE(Exists("b.csv"));
  ASSERT_TRUE((*source)->Commit(rows[2].position).ok());
  EXPECT_TRUE(Exists(".done/b.csv"));
  EXPECT_TRUE(Drain(**source).empty());
  EXPECT_TRUE((*source)->Idle());
  EXPECT_TRUE(Exists(".hidden.csv"));
}

TEST_F(FileSourceTest, ResumesMidFileAfterRestart) {
  std::string content = "id,v\n";
  for (int i = 0; i < 5000; ++i)
    content += absl::StrCat(i, ",\"x\n", i, "\"\n");
  Write("big.csv", content);
  std::vector<std::string> ids;
  {
    auto source = FileSource::Create(config_, v1::FORMAT_CSV);
    ASSERT_TRUE(source.ok());
    Row row;
    for (int i = 0; i < 1234; ++i) {
      ASSERT_TRUE(*(*source)->Next(&row));
      ids.push_back(Column(row, "id"));
      if (i == 999) ASSERT_TRUE((*source)->Commit(row.position).ok());
    }
  }  // "crash": rows 1000..1233 were read but never committed
  auto source = FileSource::Create(config_, v1::FORMAT_CSV);
  ASSERT_TRUE(source.ok());
  std::vector<Row> rows = Drain(**source);
  ASSERT_EQ(rows.size(), 4000u);
  EXPECT_EQ(Column(rows[0], "id"), "1000");
  EXPECT_EQ(Column(rows[0], "v"), "x\n1000");
  EXPECT_EQ(rows[0].location, "big.csv:2002");  // two lines per row
  EXPECT_EQ(Column(rows.back(), "id"), "4999");
}

TEST_F(FileSourceTest, BadRowsCarryTheReasonAndGoodRowsFlow) {
  Write("a.csv", "id,name\n1,ok\n2,bro\"ken\n3,too,many\n4,\xFF\xFE\n5,fine\n");
  auto source = FileSource::Create(config_, v1::FORMAT_CSV);
  ASSERT_TRUE(source.ok());
  std::vector<Row> rows = Drain(**source);
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_TRUE(rows[0].source_error.empty());
  EXPECT_EQ(rows[1].source_error_reason, "bad_csv");
  EXPECT_EQ(rows[1].raw, "2,bro\"ken");
  EXPECT_EQ(rows[2].source_error_reason, "bad_csv");
  EXPECT_THAT(rows[2].source_error, HasSubstr("3 fields, header has 2"));
  EXPECT_EQ(rows[3].source_error_reason, "invalid_utf8");
  EXPECT_TRUE(rows[4].source_error.empty());
}

// The pipeline reuses one Row: every member must come from the row just
// read, whatever the row before it was (good, broken, wrong width).
TEST_F(FileSourceTest, AReusedRowIsFullyOverwritten) {
  const std::string csv =
      "id,name\n1,ok\n2,bro\"ken\n3,too,many\n4,\xFF\xFE\n5,\"x,y\"\n6,\n";
  Write("a.csv", csv);
  auto fresh = FileSource::Create(config_, v1::FORMAT_CSV);
  ASSERT_TRUE(fresh.ok());
  const std::vector<Row> expected = Drain(**fresh);
  ASSERT_EQ(expected.size(), 6u);

  const std::string other = dir_ + "_reused";
  mkdir(other.c_str(), 0755);
  std::ofstream(other + "/a.csv", std::ios::binary) << csv;
  v1::FileSourceConfig config = config_;
  config.set_drop_dir(other);
  auto reused = FileSource::Create(config, v1::FORMAT_CSV);
  ASSERT_TRUE(reused.ok());
  Row row;
  row.columns = {{"stale", "x"}, {"id", "y"}, {"name", "z"}, {"more", "w"}};
  row.source_version = 9;
  row.op = RowOp::kDelete;
  for (const Row& want : expected) {
    auto got = (*reused)->Next(&row);
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ(row.position, want.position);
    EXPECT_EQ(row.location, want.location);
    EXPECT_EQ(row.raw, want.raw);
    EXPECT_EQ(row.columns, want.columns) << want.location;
    EXPECT_EQ(row.source_error, want.source_error);
    EXPECT_EQ(row.source_error_reason, want.source_error_reason);
    EXPECT_EQ(row.op, RowOp::kUpsert);
    EXPECT_EQ(row.source_version, 0u);
    // Good rows of one file share a layout; bad rows have none.
    EXPECT_EQ(row.layout != 0, want.source_error.empty()) << want.location;
  }
  EXPECT_EQ(Column(expected[4], "name"), "x,y");
  EXPECT_EQ(Column(expected[5], "name"), "");
}

TEST_F(FileSourceTest, GbkCsvIsConvertedToUtf8) {
  config_.set_encoding(v1::ENCODING_GBK);
  Write("a.csv", "id,city\n1,\xD5\xE3\xBD\xAD\n");
  auto source = FileSource::Create(config_, v1::FORMAT_CSV);
  ASSERT_TRUE(source.ok());
  std::vector<Row> rows = Drain(**source);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(Column(rows[0], "city"), "浙江");
}

TEST_F(FileSourceTest, JsonLinesColumnsAndCanonicalRaw) {
  Write("a.jsonl",
        "{\"id\": \"1\", \"n\": 42, \"b\": true, \"x\": null}\n\nnot json\n");
  auto source = FileSource::Create(config_, v1::FORMAT_JSONL);
  ASSERT_TRUE(source.ok());
  std::vector<Row> rows = Drain(**source);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(Column(rows[0], "n"), "42");
  EXPECT_EQ(Column(rows[0], "b"), "true");
  EXPECT_EQ(Column(rows[0], "x"), "");
  EXPECT_EQ(rows[1].source_error_reason, "bad_json");
  EXPECT_EQ(rows[1].location, "a.jsonl:3");
}

TEST_F(FileSourceTest, CorruptStateFileIsAClearError) {
  Write(".datarun-position", "garbage");
  auto source = FileSource::Create(config_, v1::FORMAT_CSV);
  ASSERT_FALSE(source.ok());
  EXPECT_THAT(std::string(source.status().message()),
              HasSubstr(".datarun-position"));
}

}  // namespace
}  // namespace datarun::connectors
