#include "control_request.hpp"

#include <algorithm>
#include <charconv>

#include "pipemux/escape.hpp"
#include "pipemux/named.hpp"

namespace pipemux::cli {
namespace {

using verb = control_request::verb;
constexpr named<verb> verb_names[] = {{"status", verb::status},     {"restart", verb::restart},
                                      {"stop", verb::stop},         {"start", verb::start},
                                      {"scale", verb::scale},       {"reopen", verb::reopen},
                                      {"stop-all", verb::stop_all}, {"outputs", verb::outputs}};

std::optional<std::size_t> number(std::string_view digits) {
  std::size_t value = 0;
  if (digits.empty() ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<control_request> control_request::parse(std::string_view line, std::string& error) {
  if (line.size() >= max_request) {
    error = "the request is too long";
    return std::nullopt;
  }
  const auto space = line.find(' ');
  const std::string_view word = line.substr(0, space);
  const std::string_view argument =
      space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
  const auto known = std::find_if(std::begin(verb_names), std::end(verb_names),
                                  [&](const auto& entry) { return entry.first == word; });
  if (known == std::end(verb_names)) {
    error = "unknown request '" + escaped(word) +
            "' (status, outputs, restart, stop, start, scale, reopen, stop-all)";
    return std::nullopt;
  }
  control_request request;
  request.what = known->second;
  switch (request.what) {
    case verb::status:
    case verb::outputs:
      if (argument.empty() || argument == "json") {
        request.json = !argument.empty();
        return request;
      }
      error = std::string(word) + " takes nothing, or json";
      return std::nullopt;
    case verb::reopen:
    case verb::stop_all:
      if (argument.empty()) return request;
      error = std::string(word) + " takes no argument";
      return std::nullopt;
    case verb::restart:
    case verb::stop:
    case verb::start: {
      auto name = unescape(argument);
      if (argument.empty() || !name || name->empty()) {
        error = std::string(word) + " needs a program, NAME or NAME.N";
        return std::nullopt;
      }
      request.target = std::move(*name);
      return request;
    }
    case verb::scale: {
      const auto equals = argument.rfind('=');
      auto name = unescape(argument.substr(0, equals));
      const auto count =
          equals == std::string_view::npos ? std::nullopt : number(argument.substr(equals + 1));
      if (!name || name->empty() || !count) {
        error = "scale needs NAME=N (N a number of children)";
        return std::nullopt;
      }
      request.target = std::move(*name);
      request.count = *count;
      return request;
    }
  }
  error = "unknown request";
  return std::nullopt;
}

std::string control_request::line() const {
  std::string out(name_of(what, verb_names));
  switch (what) {
    case verb::status:
    case verb::outputs:
      if (json) out += " json";
      break;
    case verb::reopen:
    case verb::stop_all:
      break;
    case verb::restart:
    case verb::stop:
    case verb::start:
      out += ' ';
      escape_into(target, out);
      break;
    case verb::scale:
      out += ' ';
      escape_into(target, out);
      out += '=' + std::to_string(count);
      break;
  }
  return out;
}

child_selector resolve_target(const std::string& target, const std::vector<std::string>& programs) {
  if (std::find(programs.begin(), programs.end(), target) != programs.end()) return {target, {}};
  const auto dot = target.rfind('.');
  if (dot != std::string::npos && dot > 0)
    if (const auto instance = number(std::string_view(target).substr(dot + 1)))
      return {target.substr(0, dot), instance};
  return {target, {}};
}

}  // namespace pipemux::cli
