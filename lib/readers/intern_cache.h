// A small two-way set-associative cache in front of SymbolTable::Intern for
// decoders. Streams repeat the same few thousand strings (container ids,
// images, routes); a hit costs a cheap hash of the ends of the string and
// one or two comparisons instead of a full hash and a probe of the symbol
// table. Two ways keep two busy strings that share a set from evicting each
// other on every event, which a direct-mapped cache of this size did for
// about one lookup in seven on a fleet of 1,000 containers.

#ifndef TIMESCAN_LIB_READERS_INTERN_CACHE_H_
#define TIMESCAN_LIB_READERS_INTERN_CACHE_H_

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

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
    const Key key = KeyOf(text);
    Entry* set = &entries_[(key.Hash() >> (64 - kSetBits)) * 2];
    if (set[0].Holds(key, text)) return set[0].symbol;
    if (set[1].Holds(key, text)) {
      std::swap(set[0], set[1]);  // the most recent first
      return set[0].symbol;
    }
    const Symbol symbol = symbols.Intern(text);
    set[1] = set[0];
    // Names live as long as the table and never move.
    set[0] = Entry{key, symbols.Name(symbol), symbol};
    return symbol;
  }

 private:
  static constexpr int kSetBits = 11;
  static constexpr size_t kEntries = size_t{2} << kSetBits;

  // The first and last 8 bytes of a string (zero-padded when shorter) and
  // its length: equal keys mean equal strings up to 16 bytes, so most
  // lookups compare two words and no memory.
  struct Key {
    uint64_t head = 0, tail = 0, size = 0;
    // The set is taken from the top bits: a product's high bits depend on
    // every byte of its factor, its low bits only on the first bytes, which
    // the names of one stream share ("container-12", "container-345").
    uint64_t Hash() const {
      return (head * 0x9E3779B97F4A7C15ULL) ^ (tail + size) * 0xC2B2AE3D27D4EB4FULL;
    }
    bool operator==(const Key&) const = default;
  };

  static Key KeyOf(std::string_view text) {
    Key key;
    key.size = text.size();
    if (key.size == 0) return key;  // an empty view may have no data pointer
    std::memcpy(&key.head, text.data(), key.size < 8 ? key.size : 8);
    if (key.size > 8) std::memcpy(&key.tail, text.data() + key.size - 8, 8);
    return key;
  }

  struct Entry {
    Key key;
    std::string_view text;
    Symbol symbol = kNoSymbol;

    bool Holds(const Key& other, std::string_view other_text) const {
      if (!(key == other)) return false;
      return key.size <= 16 ||
             std::memcmp(text.data() + 8, other_text.data() + 8, key.size - 16) == 0;
    }
  };

  const SymbolTable* table_ = nullptr;
  std::array<Entry, kEntries> entries_{};
};

}  // namespace timescan::internal

#endif  // TIMESCAN_LIB_READERS_INTERN_CACHE_H_
