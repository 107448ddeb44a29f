// Input: what the owner writes to a child's stdin (program_spec::input), queued on the strand
// by the child's input_writer; its callback is made as every callback is (under the state's
// mutex, never once the supervisor is gone).
#include "supervisor/supervisor_impl.hpp"

namespace pipemux {

void supervisor_core::impl::send_input(
    std::size_t child, std::string bytes,
    std::shared_ptr<move_only_function<void(std::error_code)>> written) {
  auto tell = [weak = weak_from_this(), written](std::error_code ec) {
    const auto self = weak.lock();
    if (!self || !*written) return;
    const std::lock_guard lock(self->mutex);
    if (self->abandoned) return;
    self->call_user([&] { (*written)(ec); });
  };
  if (child >= children.size() || !children[child]->program->input)
    return tell(std::make_error_code(std::errc::broken_pipe));
  child_slot& c = *children[child];
  if (c.input) return c.input->write(std::move(bytes), std::move(tell));
  // No run now: held for the next one, unless there will be none. The caller is told at once
  // (operation_in_progress): one waiting for it could wait for ever, as the child may start
  // only once the caller's input ends (its turn after another child that reads to EOF).
  if (c.life.finished() || c.input_closed)
    return tell(std::make_error_code(std::errc::broken_pipe));
  if (c.waiting_bytes + bytes.size() > child_slot::max_waiting_input)
    return tell(std::make_error_code(std::errc::no_buffer_space));
  c.waiting_bytes += bytes.size();
  c.waiting_input.emplace_back(std::move(bytes), nullptr);
  tell(std::make_error_code(std::errc::operation_in_progress));
}

void supervisor_core::impl::start_input(child_slot& c, detail::unique_fd fd) {
  if (fd.get() < 0) return;
  // EOF at once: a pipe's end is closed here; a terminal is sent its ^D.
  if (c.input_closed && c.waiting_input.empty() && !c.program->pty) return;
  c.input = std::make_shared<detail::input_writer>(strand, fd.release(), c.program->pty);
  for (auto& [bytes, written] : c.waiting_input)
    c.input->write(std::move(bytes), std::move(written));
  c.waiting_input.clear();
  c.waiting_bytes = 0;
  if (c.input_closed) c.input->close_when_written();
}

void supervisor_core::impl::end_input(child_slot& c) {
  if (c.input) c.input->close_now();  // what was not written fails
  c.input.reset();
  if (!c.life.finished()) return;  // a restart takes what waits
  auto waiting = std::move(c.waiting_input);
  c.waiting_input.clear();
  c.waiting_bytes = 0;
  for (auto& [bytes, written] : waiting)
    if (written) written(std::make_error_code(std::errc::broken_pipe));
}

}  // namespace pipemux
