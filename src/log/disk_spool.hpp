// Internal: the file of a spooling_sender (pipemux/spooling_sender.hpp). Messages are appended
// in order, each a record with its length and CRC-32; a header says where the first message not
// settled yet starts (the "head"). What the file holds outlives pipemux: the next run that opens
// the same file sends it first.
//
//   header (32 bytes): "PMXSPL01", head (u64), CRC-32 of those 16 bytes (u32), zeros
//   record:            length (u32), CRC-32 of the length and the message (u32), the message
//
// Integers are little-endian. A record torn by a crash (or damaged) is found when the file is
// opened: it and what follows are cut off, with a warning, and never sent as garbage. The head is
// saved now and then (save_head) and at the end: after a crash the messages since the last save
// are sent again (at least once). Settled space is given back to the file system as it goes
// (punched holes, only behind a saved head) and the file is emptied whenever everything in it is
// settled.
//
// One spool file is one sender's: it is locked (flock) while open, so that a second pipemux
// pointed at it fails at once rather than sending the same messages twice.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace pipemux::detail {

/// A spool that cannot be used: what() is one line naming the file.
class spool_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class disk_spool {
 public:
  static constexpr std::uint64_t header_size = 32;
  static constexpr std::uint64_t record_header_size = 8;
  static constexpr std::uint32_t max_record = std::uint32_t{1} << 25;  // 32 MiB

  /// Opens (creating it and its directory's last component if need be) and locks `path`, and
  /// reads what an earlier run left in it. Throws spool_error.
  explicit disk_spool(std::string path);
  ~disk_spool();
  disk_spool(const disk_spool&) = delete;
  disk_spool& operator=(const disk_spool&) = delete;

  /// Appends one message (in memory until flush()).
  void append(std::string_view message);
  /// Writes what append() holds in memory; on an error (a full disk) it stays there, to be
  /// written by a later flush.
  std::error_code flush();
  /// The next messages not handed out yet, in order, about `max_bytes` of them (at least one
  /// when there is any), appended to `messages`; `ends` gets, for each, where its record ends.
  /// Reads only what flush() wrote.
  void read(std::vector<std::string>& messages, std::vector<std::uint64_t>& ends,
            std::size_t max_bytes);
  /// The `count` messages up to `end` (as read() told it) are settled: the head moves there.
  void settle(std::uint64_t end, std::size_t count);
  /// Writes the head to the header.
  std::error_code save_head();
  /// Gives up what flush() could not write; returns how many messages that was.
  std::size_t discard_unwritten();

  const std::string& path() const noexcept { return path_; }
  /// Found when the file was opened: messages from an earlier run, and what was wrong with its
  /// end (empty if nothing).
  std::size_t carried_over() const noexcept { return carried_over_; }
  const std::string& damage() const noexcept { return damage_; }

  /// Bytes and messages not settled, those in memory included.
  std::uint64_t pending_bytes() const noexcept { return end_ + buffer_.size() - head_; }
  std::size_t pending_messages() const noexcept { return pending_; }
  /// Messages still in memory (a failed flush): lost if the spool is closed now.
  std::size_t unwritten_messages() const noexcept { return buffered_; }
  /// Something written and not handed out by read() yet.
  bool unread() const noexcept { return cursor_ < end_; }
  /// Bytes handed out by read() and not settled.
  std::uint64_t in_flight_bytes() const noexcept { return cursor_ - head_; }
  /// Bytes not handed out by read() yet, those in memory included.
  std::uint64_t waiting_bytes() const noexcept { return end_ + buffer_.size() - cursor_; }

 private:
  void recover();
  void empty_if_all_settled();
  void give_back_settled_space();

  std::string path_;
  int fd_ = -1;
  std::uint64_t head_ = header_size;        // the first record not settled
  std::uint64_t cursor_ = header_size;      // the first record not handed out
  std::uint64_t end_ = header_size;         // the file's end: where the next record goes
  std::uint64_t given_back_ = header_size;  // settled space before this was punched out
  bool can_punch_ = true;
  std::string buffer_;  // appended, not written yet
  std::size_t buffered_ = 0;
  std::size_t pending_ = 0;
  std::size_t carried_over_ = 0;
  std::string damage_;
  std::vector<char> chunk_;  // read()'s
};

}  // namespace pipemux::detail
