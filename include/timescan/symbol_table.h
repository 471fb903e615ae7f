// timescan/symbol_table.h
//
// Provides SymbolTable, which interns strings into dense 32-bit symbols.
//
//   timescan::SymbolTable symbols;
//   timescan::Symbol s = symbols.Intern("/usr/bin/curl");
//   assert(symbols.Name(s) == "/usr/bin/curl");
//
// Symbols are assigned in order of first interning, starting at 1 (0 is the
// empty string), so the same strings interned in the same order give the same
// symbols on every run: findings never depend on hash-table order.

#ifndef TIMESCAN_SYMBOL_TABLE_H_
#define TIMESCAN_SYMBOL_TABLE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace timescan {

using Symbol = uint32_t;

// The symbol of the empty string, used for "absent".
inline constexpr Symbol kNoSymbol = 0;

// Strings longer than this are cut at a UTF-8 character boundary before they
// are interned, and the cut is counted: an attacker cannot grow memory with
// one long exe path, and an overlong value is still scored, never dropped.
inline constexpr size_t kMaxSymbolBytes = 1024;

// Interns strings. Not thread-safe: one table per engine, used by one thread.
// Copy is deleted because symbols of one table mean nothing in another.
class SymbolTable {
 public:
  SymbolTable();
  ~SymbolTable();
  SymbolTable(const SymbolTable&) = delete;
  SymbolTable& operator=(const SymbolTable&) = delete;

  // Returns the symbol of `text`, adding it if new. `text` longer than
  // kMaxSymbolBytes is truncated first.
  Symbol Intern(std::string_view text);

  // Returns the symbol of `text` if it was interned, without adding it.
  std::optional<Symbol> Find(std::string_view text) const;

  // Returns the string of `symbol`; "" for a symbol not in the table.
  std::string_view Name(Symbol symbol) const;

  // Returns whether `symbol` was produced by this table.
  bool Contains(Symbol symbol) const { return symbol < size(); }

  // Returns the number of symbols, the empty string included.
  size_t size() const { return size_; }

  // Returns how many strings were truncated to kMaxSymbolBytes.
  uint64_t truncated() const;

  // Returns the bytes held by the strings and the index.
  size_t MemoryBytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  size_t size_ = 1;  // kept here so Contains() inlines on the hot path
};

}  // namespace timescan

#endif  // TIMESCAN_SYMBOL_TABLE_H_
