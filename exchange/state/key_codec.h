// Binary, order-preserving key encodings of the exchange state.
//
// Used by the RocksDB state store (exchange/state/rocksdb/) and by tests and
// tools that inspect a state directory. Pure functions, safe from any thread.
//
// Record key:  u32 big-endian partition | esc(subject id) | esc(data class) |
//              esc(record key)
// Offset key:  esc(topic) | u32 big-endian partition
//
// esc(s) writes s with every 0x00 byte as 0x00 0xFF and ends it with
// 0x00 0x01, so for any strings a < b  <=>  esc(a) < esc(b) bytewise, and no
// escaped string is a prefix of another. Hence the keys of one subject are
// contiguous (one prefix scan is a whole profile), a class sorts inside its
// subject, and "A" never shares a prefix scan with "AB".
#ifndef DATARUN_EXCHANGE_STATE_KEY_CODEC_H_
#define DATARUN_EXCHANGE_STATE_KEY_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace datarun::state {

// The logical address of one record in the state.
struct RecordAddress {
  int32_t partition = 0;
  std::string subject_id;
  std::string data_class;
  std::string record_key;

  bool operator==(const RecordAddress& o) const {
    return partition == o.partition && subject_id == o.subject_id &&
           data_class == o.data_class && record_key == o.record_key;
  }
};

// Appends esc(s) to *out.
void AppendEscaped(absl::string_view s, std::string* out);

// Appends the big-endian 4-byte form of `partition` (must be >= 0).
void AppendPartition(int32_t partition, std::string* out);

// Appends the record key to *out (EncodeRecordKey without a new string).
void AppendRecordKey(int32_t partition, absl::string_view subject_id,
                     absl::string_view data_class, absl::string_view record_key,
                     std::string* out);

std::string EncodeRecordKey(int32_t partition, absl::string_view subject_id,
                            absl::string_view data_class,
                            absl::string_view record_key);

// partition | esc(subject): the prefix of every record of one subject; this
// is what the prefix extractor (and its bloom filter) sees.
std::string EncodeSubjectPrefix(int32_t partition,
                                absl::string_view subject_id);

// partition | esc(subject) | esc(class): every record of one class.
std::string EncodeClassPrefix(int32_t partition, absl::string_view subject_id,
                              absl::string_view data_class);

// partition: every record of one partition.
std::string EncodePartitionPrefix(int32_t partition);

// Inverse of EncodeRecordKey; InvalidArgument names what is malformed.
absl::StatusOr<RecordAddress> DecodeRecordKey(absl::string_view key);

// Length of partition | esc(subject) at the start of `key`, or 0 if `key`
// does not hold a complete subject prefix.
size_t SubjectPrefixLength(absl::string_view key);

std::string EncodeOffsetKey(absl::string_view topic, int32_t partition);

struct TopicPartitionKey {
  std::string topic;
  int32_t partition = 0;
};
absl::StatusOr<TopicPartitionKey> DecodeOffsetKey(absl::string_view key);

}  // namespace datarun::state

#endif  // DATARUN_EXCHANGE_STATE_KEY_CODEC_H_
