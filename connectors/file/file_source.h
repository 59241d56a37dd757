// FileSource: CSV (RFC 4180, header row) and JSON Lines files dropped into a
// directory, read in name order and resumed mid-file after a restart.
//
// Position of a row: "<file name>\t<byte offset after the row>\t<line>".
// Commit() writes it to the state file atomically (write a temp file,
// fsync, rename), then moves every fully committed file to
// <drop_dir>/.done/. A restart resumes the file named in the state file at
// that offset (the CSV header is re-read from the top), or starts with the
// first file left in the directory. Only complete files may appear in the
// directory: write elsewhere or to a dot-file and rename in.
//
// Bad rows (broken quoting, wrong field count, invalid UTF-8, undecodable
// GBK, bad JSON) are returned with Row::source_error set, so the pipeline
// sends them to the DLQ and reading goes on.
//
// Caller: the connector pipeline. Thread-safety: one thread (see source.h).
#ifndef DATARUN_CONNECTORS_FILE_FILE_SOURCE_H_
#define DATARUN_CONNECTORS_FILE_FILE_SOURCE_H_

#include <cstdio>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "connectors/connector.pb.h"
#include "connectors/source.h"

namespace datarun::connectors {

class FileSource : public Source {
 public:
  // `format` is the mapping's (CSV, JSONL or CANONICAL_JSONL).
  static absl::StatusOr<std::unique_ptr<FileSource>> Create(
      const datarun::connectors::v1::FileSourceConfig& config,
      datarun::connectors::v1::Format format);
  ~FileSource() override;

  absl::StatusOr<bool> Next(Row* row) override;
  absl::Status Commit(const std::string& position) override;
  bool Idle() const override;

 private:
  struct FinishedFile {
    std::string name;
    uint64_t last_row_end = 0;  // offset after its last row
  };

  FileSource() = default;
  absl::Status OpenNext(bool* opened);
  absl::Status Fill();  // reads more of the current file into buffer_
  absl::Status FinishCurrent();
  absl::Status MoveToDone(const std::string& name);
  bool NextRecord(Row* row, bool* need_more);
  // Sets the column names and layout of a good CSV row; `named`: *row held
  // a good row of the current file before (names already right).
  void NameColumns(Row* row, bool named);

  datarun::connectors::v1::FileSourceConfig config_;
  datarun::connectors::v1::Format format_ =
      datarun::connectors::v1::FORMAT_UNSPECIFIED;
  std::string state_file_;
  std::string done_dir_;

  // Resume point loaded from the state file, used once.
  std::string resume_file_;
  uint64_t resume_offset_ = 0;
  uint64_t resume_line_ = 0;

  // The file being read.
  std::FILE* file_ = nullptr;
  std::string current_;
  uint64_t current_size_ = 0;
  std::string buffer_;
  size_t buffer_pos_ = 0;
  uint64_t buffer_file_offset_ = 0;  // file offset of buffer_[0]
  bool eof_ = false;
  uint64_t line_ = 0;  // lines consumed so far in the current file
  std::vector<std::string> header_;
  uint64_t layout_ = 0;        // Row::layout of the current file's CSV rows
  uint64_t rows_emitted_ = 0;  // from the current file, this session
  uint64_t last_row_end_ = 0;

  // Fully read files whose rows may not all be committed yet.
  std::deque<FinishedFile> finished_;
  std::string committed_file_;
  uint64_t committed_offset_ = 0;
  bool pending_files_ = true;  // last directory listing found files
};

}  // namespace datarun::connectors

#endif  // DATARUN_CONNECTORS_FILE_FILE_SOURCE_H_
