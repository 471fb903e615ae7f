#include "timescan/symbol_table.h"

#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace timescan {
namespace {

// Returns the longest prefix of `text` of at most `max_bytes` that does not
// end inside a UTF-8 sequence.
std::string_view Utf8Prefix(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Step back over continuation bytes (10xxxxxx) to a character start.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

}  // namespace

struct SymbolTable::Impl {
  // A deque never moves its strings, so the string_view keys stay valid.
  std::deque<std::string> names;
  absl::flat_hash_map<std::string_view, Symbol> index;
  uint64_t truncated = 0;
  size_t bytes = 0;
};

SymbolTable::SymbolTable() : impl_(std::make_unique<Impl>()) {
  impl_->names.emplace_back();
  impl_->index.emplace(std::string_view(impl_->names.back()), kNoSymbol);
}

SymbolTable::~SymbolTable() = default;

Symbol SymbolTable::Intern(std::string_view text) {
  if (text.size() > kMaxSymbolBytes) {
    text = Utf8Prefix(text, kMaxSymbolBytes);
    ++impl_->truncated;
  }
  auto it = impl_->index.find(text);
  if (it != impl_->index.end()) return it->second;
  const auto symbol = static_cast<Symbol>(impl_->names.size());
  impl_->names.emplace_back(text);
  impl_->bytes += text.size() + sizeof(std::string) + 16;
  impl_->index.emplace(std::string_view(impl_->names.back()), symbol);
  size_ = impl_->names.size();
  return symbol;
}

std::optional<Symbol> SymbolTable::Find(std::string_view text) const {
  if (text.size() > kMaxSymbolBytes) text = Utf8Prefix(text, kMaxSymbolBytes);
  auto it = impl_->index.find(text);
  if (it == impl_->index.end()) return std::nullopt;
  return it->second;
}

std::string_view SymbolTable::Name(Symbol symbol) const {
  if (symbol >= impl_->names.size()) return {};
  return impl_->names[symbol];
}

uint64_t SymbolTable::truncated() const { return impl_->truncated; }

size_t SymbolTable::MemoryBytes() const {
  return impl_->bytes + impl_->index.capacity() * (sizeof(std::string_view) + sizeof(Symbol) + 1);
}

}  // namespace timescan
