#include "log/disk_spool.hpp"

#include <boost/crc.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

namespace pipemux::detail {

namespace {

constexpr std::array<char, 8> magic = {'P', 'M', 'X', 'S', 'P', 'L', '0', '1'};
constexpr std::uint64_t give_back_step = std::uint64_t{1} << 20;  // punch settled space by MiB
constexpr std::size_t scan_chunk = std::size_t{1} << 20;

std::uint32_t crc32(const char* data, std::size_t size) {
  boost::crc_32_type crc;
  crc.process_bytes(data, size);
  return crc.checksum();
}

// A record's checksum covers its length too: zeros (a hole punched out of settled space, a
// file extended by a crash) are never a record, even an empty one.
std::uint32_t record_checksum(const char* length_field, const char* message, std::size_t size) {
  boost::crc_32_type crc;
  crc.process_bytes(length_field, 4);
  crc.process_bytes(message, size);
  return crc.checksum();
}

void put_le(char* out, std::uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

std::uint64_t get_le(const char* in, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i)
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return value;
}

std::string quoted(const std::string& path) {
  return "spool '" + path + "'";
}

// Reads `size` bytes at `offset`, fewer only at the end of the file.
std::size_t read_at(int fd, char* out, std::size_t size, std::uint64_t offset) {
  std::size_t got = 0;
  while (got < size) {
    const ssize_t n = ::pread(fd, out + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  return got;
}

bool write_at(int fd, const char* data, std::size_t size, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pwrite(fd, data + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Its directory's last component may be missing (the spool's own directory); its parent not.
void make_directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return;
  const std::string dir = path.substr(0, slash);
  if (::mkdir(dir.c_str(), 0750) != 0 && errno != EEXIST)
    throw spool_error("cannot make the spool directory '" + dir + "': " + std::strerror(errno));
}

}  // namespace

disk_spool::disk_spool(std::string path) : path_(std::move(path)) {
  make_directory_of(path_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd_ < 0) throw spool_error("cannot open " + quoted(path_) + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd_);
    throw spool_error(quoted(path_) + (error == EWOULDBLOCK
                                           ? " is in use by another pipemux"
                                           : ": " + std::string(std::strerror(error))));
  }
  try {
    recover();
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

disk_spool::~disk_spool() {
  if (fd_ < 0) return;
  flush();
  save_head();
  ::close(fd_);  // and with it the lock
}

// Finds the head in the header, then every whole record after it; the first record that is not
// whole (torn by a crash) or not what its checksum says ends the spool there.
void disk_spool::recover() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0)
    throw spool_error("cannot read " + quoted(path_) + ": " + std::strerror(errno));
  const auto size = static_cast<std::uint64_t>(st.st_size);
  std::array<char, header_size> header{};
  const std::size_t got = read_at(fd_, header.data(), header.size(), 0);
  if (got > 0 && !std::equal(magic.begin(), magic.end(), header.begin()))
    throw spool_error(quoted(path_) + " is not a pipemux spool file (it does not start with " +
                      "\"PMXSPL01\"): give the spool a directory of its own");
  if (size < header_size) {  // new (or its first header torn)
    if (size > 0) damage_ = "its header was cut short: started again empty";
    if (::ftruncate(fd_, 0) != 0 || save_head())
      throw spool_error("cannot write " + quoted(path_) + ": " + std::strerror(errno));
    return;
  }
  head_ = get_le(header.data() + 8, 8);
  const bool header_sound = get_le(header.data() + 16, 4) == crc32(header.data(), 16);
  if (!header_sound || head_ < header_size || head_ > size) {
    damage_ = "its header was damaged: every message in it is sent again";
    head_ = header_size;
  }
  std::vector<char> chunk(scan_chunk);
  std::uint64_t chunk_at = head_;
  std::size_t chunk_size = read_at(fd_, chunk.data(), chunk.size(), chunk_at);
  std::uint64_t at = head_;
  while (at < size) {
    auto in_chunk = [&](std::uint64_t offset, std::uint64_t bytes) {
      if (offset >= chunk_at && offset + bytes <= chunk_at + chunk_size) return true;
      chunk.resize(std::max<std::size_t>(scan_chunk, bytes));
      chunk_at = offset;
      chunk_size = read_at(fd_, chunk.data(), chunk.size(), chunk_at);
      return bytes <= chunk_size;
    };
    if (!in_chunk(at, record_header_size)) break;
    const char* record = chunk.data() + (at - chunk_at);
    const auto length = static_cast<std::uint32_t>(get_le(record, 4));
    const auto checksum = static_cast<std::uint32_t>(get_le(record + 4, 4));
    if (length > max_record || !in_chunk(at, record_header_size + length)) break;
    record = chunk.data() + (at - chunk_at);
    if (record_checksum(record, record + record_header_size, length) != checksum) break;
    at += record_header_size + length;
    ++pending_;
  }
  if (at < size) {
    damage_ += (damage_.empty() ? "" : "; ") + std::string("a torn or damaged record at byte ") +
               std::to_string(at) + ": its last " + std::to_string(size - at) +
               " bytes are skipped";
    if (::ftruncate(fd_, static_cast<off_t>(at)) != 0)
      throw spool_error("cannot cut " + quoted(path_) + ": " + std::strerror(errno));
  }
  cursor_ = head_;
  end_ = at;
  given_back_ = head_;
  carried_over_ = pending_;
  empty_if_all_settled();
}

void disk_spool::append(std::string_view message) {
  const auto length = static_cast<std::uint32_t>(std::min<std::size_t>(message.size(), max_record));
  const std::size_t at = buffer_.size();
  buffer_.resize(at + record_header_size + length);
  put_le(buffer_.data() + at, length, 4);
  put_le(buffer_.data() + at + 4, record_checksum(buffer_.data() + at, message.data(), length), 4);
  std::memcpy(buffer_.data() + at + record_header_size, message.data(), length);
  ++buffered_;
  ++pending_;
}

std::size_t disk_spool::discard_unwritten() {
  const std::size_t lost = buffered_;
  pending_ -= std::min(buffered_, pending_);
  buffer_.clear();
  buffered_ = 0;
  return lost;
}

std::error_code disk_spool::flush() {
  if (buffer_.empty()) return {};
  if (!write_at(fd_, buffer_.data(), buffer_.size(), end_)) {
    const std::error_code ec(errno, std::generic_category());
    // What went of it is a torn record for the next recover(): cut it now.
    [[maybe_unused]] const int cut = ::ftruncate(fd_, static_cast<off_t>(end_));
    return ec;
  }
  end_ += buffer_.size();
  buffer_.clear();
  buffered_ = 0;
  return {};
}

void disk_spool::read(std::vector<std::string>& messages, std::vector<std::uint64_t>& ends,
                      std::size_t max_bytes) {
  if (cursor_ >= end_) return;
  const std::size_t want = static_cast<std::size_t>(
      std::min<std::uint64_t>(std::max<std::size_t>(max_bytes, 4096), end_ - cursor_));
  chunk_.resize(want);
  std::size_t got = read_at(fd_, chunk_.data(), want, cursor_);
  std::size_t at = 0;
  while (at + record_header_size <= got) {
    const auto length = static_cast<std::size_t>(get_le(chunk_.data() + at, 4));
    if (at + record_header_size + length > got) {
      if (at > 0) break;                           // the next read() takes it
      chunk_.resize(record_header_size + length);  // one record longer than max_bytes
      got = read_at(fd_, chunk_.data(), chunk_.size(), cursor_);
      if (got < chunk_.size()) return;  // cannot be: the record was written whole
    }
    messages.emplace_back(chunk_.data() + at + record_header_size, length);
    at += record_header_size + length;
    ends.push_back(cursor_ + at);
  }
  cursor_ += at;
}

void disk_spool::settle(std::uint64_t end, std::size_t count) {
  head_ = std::clamp(end, head_, cursor_);
  pending_ -= std::min(count, pending_);
  empty_if_all_settled();
  give_back_settled_space();
}

std::error_code disk_spool::save_head() {
  std::array<char, header_size> header{};
  std::copy(magic.begin(), magic.end(), header.begin());
  put_le(header.data() + 8, head_, 8);
  put_le(header.data() + 16, crc32(header.data(), 16), 4);
  if (!write_at(fd_, header.data(), header.size(), 0)) return {errno, std::generic_category()};
  return {};
}

void disk_spool::empty_if_all_settled() {
  if (head_ != end_ || cursor_ != end_ || end_ == header_size) return;
  if (::ftruncate(fd_, static_cast<off_t>(header_size)) != 0) return;
  head_ = cursor_ = end_ = given_back_ = header_size;
  save_head();
}

// A spool that is never empty for long (a collector a little slower than the children) would
// otherwise only grow: its settled start is punched out, the file keeping its offsets.
void disk_spool::give_back_settled_space() {
  if (!can_punch_ || head_ < given_back_ + give_back_step) return;
  // The header first: a crash must never leave it pointing into a hole.
  if (save_head()) return;
  const std::uint64_t upto = head_ & ~std::uint64_t{4095};
  if (::fallocate(fd_, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, static_cast<off_t>(given_back_),
                  static_cast<off_t>(upto - given_back_)) != 0) {
    can_punch_ = false;  // not on this file system: the space comes back when the spool empties
    return;
  }
  given_back_ = upto;
}

}  // namespace pipemux::detail
