// A callable wrapper that, unlike std::function, takes move-only callables (a lambda that owns a
// unique_ptr, a socket): the subset of C++23's std::move_only_function that the supervisor's
// callbacks need, for g++ 12 in C++20 mode.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace pipemux {

template <class Signature>
class move_only_function;

namespace detail {
template <class T>
struct is_function_wrapper : std::false_type {};
template <class Signature>
struct is_function_wrapper<std::function<Signature>> : std::true_type {};
template <class Signature>
struct is_function_wrapper<move_only_function<Signature>> : std::true_type {};
// What a move_only_function<R(Args...)> (`Self`) takes: a callable that is not itself.
template <class F, class Self, class R, class... Args>
concept wrappable = !std::is_same_v<std::remove_cvref_t<F>, Self> &&
                    std::is_invocable_r_v<R, std::decay_t<F>&, Args...>;
}  // namespace detail

/// Holds any callable invocable as R(Args...), copyable or not; empty when default-constructed,
/// made from nullptr, a null function pointer or an empty std::function. Move-only.
template <class R, class... Args>
class move_only_function<R(Args...)> {
 public:
  move_only_function() noexcept = default;
  move_only_function(std::nullptr_t) noexcept {}  // implicit, as std::function's

  // Implicit, as std::function's. Constrained: never takes a move_only_function.
  template <detail::wrappable<move_only_function, R, Args...> F>
  // NOLINTNEXTLINE(bugprone-forwarding-reference-overload)
  move_only_function(F&& f) {
    using T = std::decay_t<F>;
    if constexpr (std::is_pointer_v<T> || std::is_member_pointer_v<T> ||
                  detail::is_function_wrapper<T>::value) {
      if (!f) return;
    }
    target_ = std::make_unique<model<T>>(std::in_place, std::forward<F>(f));
  }

  move_only_function(move_only_function&&) noexcept = default;
  move_only_function& operator=(move_only_function&&) noexcept = default;
  move_only_function& operator=(std::nullptr_t) noexcept {
    target_.reset();
    return *this;
  }
  ~move_only_function() = default;

  explicit operator bool() const noexcept { return target_ != nullptr; }

  /// Calls the target (which must exist), as an lvalue: it may be called again.
  R operator()(Args... args) { return target_->call(std::forward<Args>(args)...); }

 private:
  struct callable {
    virtual ~callable() = default;
    virtual R call(Args&&... args) = 0;
  };
  template <class T>
  struct model final : callable {
    template <class U>
    model(std::in_place_t /*unused*/, U&& u) : f(std::forward<U>(u)) {}
    R call(Args&&... args) override { return std::invoke(f, std::forward<Args>(args)...); }
    T f;
  };
  std::unique_ptr<callable> target_;
};

}  // namespace pipemux
