// A small direct-mapped cache in front of SymbolTable::Intern for decoders.
// Streams repeat the same few thousand strings (container ids, images,
// routes); a hit costs a cheap hash of the ends of the string and one
// comparison instead of a full hash and a probe of the symbol table.

#ifndef TIMESCAN_LIB_READERS_INTERN_CACHE_H_
#define TIMESCAN_LIB_READERS_INTERN_CACHE_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "timescan/symbol_table.h"

namespace timescan::internal {

// REQUIRES: a cache is used with one table for the table's lifetime (a
// decoder inside an engine or a reader, both holding their table); a new
// table at the address of a destroyed one would be taken for it.
class InternCache {
 public:
  // Returns symbols.Intern(text).
  Symbol Intern(SymbolTable& symbols, std::string_view text) {
    if (&symbols != table_) {
      entries_.fill(Entry{});
      table_ = &symbols;
    }
    const uint64_t hash = QuickHash(text);
    Entry& entry = entries_[hash >> (64 - kIndexBits)];
    if (entry.hash == hash && entry.text == text) return entry.symbol;
    const Symbol symbol = symbols.Intern(text);
    entry.hash = hash;
    entry.symbol = symbol;
    // Names live as long as the table and never move.
    entry.text = symbols.Name(symbol);
    return symbol;
  }

 private:
  static constexpr int kIndexBits = 11;
  static constexpr size_t kEntries = size_t{1} << kIndexBits;

  struct Entry {
    uint64_t hash = 0;
    std::string_view text;
    Symbol symbol = kNoSymbol;
  };

  static uint64_t QuickHash(std::string_view text) {
    uint64_t head = 0, tail = 0;
    const size_t n = text.size();
    if (n == 0) return 0;  // an empty view may have no data pointer
    std::memcpy(&head, text.data(), n < 8 ? n : 8);
    if (n > 8) std::memcpy(&tail, text.data() + n - 8, 8);
    // The slot is taken from the top bits: a product's high bits depend on
    // every byte of its factor, its low bits only on the first bytes, which
    // the names of one stream share ("container-12", "container-345").
    return (head * 0x9E3779B97F4A7C15ULL) ^ (tail + n) * 0xC2B2AE3D27D4EB4FULL;
  }

  const SymbolTable* table_ = nullptr;
  std::array<Entry, kEntries> entries_{};
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_INTERN_CACHE_H_
